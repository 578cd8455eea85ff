import Foundation
import MPI
import SystemMemory
import VAE

/// The files of one run: `config.json`, `metrics.jsonl`, `checkpoints/`, `explain/`. Only rank 0
/// touches them.
public struct RunDirectory {
    public let path: String
    public init(path: String) { self.path = path }

    public var configPath: String { path + "/config.json" }
    public var metricsPath: String { path + "/metrics.jsonl" }
    public var checkpointsPath: String { path + "/checkpoints" }
    public var explainPath: String { path + "/explain" }

    /// A directory that already holds a run: starting a new one there would overwrite its files.
    public var holdsRun: Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: configPath) || fm.fileExists(atPath: checkpointsPath)
    }

    public func create() throws {
        if case .failure(let refusal) = DirectoryCreation.create(path) {
            throw ConfigError("--out \(path): \(refusal); the run directory must be a directory or a path that does not exist yet")
        }
        if case .failure(let refusal) = DirectoryCreation.create(checkpointsPath) {
            throw ConfigError("--out \(path): cannot create checkpoints/ in it: \(refusal)")
        }
    }

    /// Written whole or not at all, so a crash never leaves a config.json that resume cannot read.
    public func writeConfig(_ config: TrainConfig) throws {
        LauncherWatch.checkBeforeWriting()
        let tmp = configPath + ".tmp"
        do {
            try Data(config.canonicalJSON().utf8).write(to: URL(fileURLWithPath: tmp))
            if rename(tmp, configPath) != 0 { throw ConfigError(String(cString: strerror(errno))) }
        } catch {
            unlink(tmp)
            throw ConfigError("\(configPath): cannot write the resolved config (\(error))")
        }
    }

    /// The saved settings of a run, read by rank 0 and shared with every rank: only rank 0's
    /// node needs the run directory.
    public func readConfig(comm: Communicator) throws -> TrainConfig {
        var text = ""
        try comm.rootDecides {
            guard case .success(let bytes) = RegularFile.read(configPath, maximum: 16 << 20) else {
                throw ConfigError("--resume \(path): no readable config.json there; is it a run directory?")
            }
            text = String(decoding: bytes, as: UTF8.self)
        }
        text = try comm.broadcast(string: text, root: 0)
        // Every rank decodes the same text, so a bad file is every rank's error.
        do { return try TrainConfig.decode(Data(text.utf8), source: configPath) } catch { throw AgreedError("\(error)") }
    }
}

/// Appends one JSON object a line; each line is flushed so `tail -f` and a killed job both see
/// every record that was logged. Only rank 0 writes it, so a failed write (a full disk) must not
/// change what the ranks do: it costs one warning and the records after it, never the run.
final class MetricsLog {
    private let path: String
    private var handle: FileHandle?

    init(path: String?) throws {
        guard let path else { self.path = ""; handle = nil; return }
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let h = FileHandle(forWritingAtPath: path) else {
            throw ConfigError("\(path): cannot open the metrics log for writing")
        }
        do {
            try h.seekToEnd()
        } catch {
            throw ConfigError("\(path): cannot open the metrics log for writing (\(error.localizedDescription))")
        }
        handle = h
    }

    func write(_ record: [String: Any]) {
        LauncherWatch.checkBeforeWriting()
        guard let handle,
              let data = try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
        else { return }
        do {
            try handle.write(contentsOf: data + Data("\n".utf8))
        } catch {
            self.handle = nil
            try? handle.close()
            fputs("warning: \(path): cannot write metrics (\(error.localizedDescription)); training goes on without them\n", stderr)
        }
    }
}

extension RunDirectory {
    /// The run a checkpoint argument belongs to (a run directory, its checkpoints/, `latest`, or a
    /// checkpoint file inside checkpoints/), when it has a metrics.jsonl; nil otherwise.
    public static func containing(checkpoint path: String) -> RunDirectory? {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        var dir = isDirectory.boolValue ? path : (path as NSString).deletingLastPathComponent
        if (dir as NSString).lastPathComponent == "checkpoints" { dir = (dir as NSString).deletingLastPathComponent }
        if dir.isEmpty { dir = "." }
        let run = RunDirectory(path: dir)
        return fm.fileExists(atPath: run.metricsPath) ? run : nil
    }
}
