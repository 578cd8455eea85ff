import Foundation
import MPI
import SafeTensors

/// The `checkpoints/` folder of a run directory: `ckpt-<tag>.safetensors` files written atomically,
/// a `latest` pointer (one line: the file name) replaced atomically after each, and only the last
/// `keepLast` checkpoints kept. Tags must sort in the order they were written
/// (e.g. "e0003-s000469"): "newest" means last by name.
///
/// Crash safety comes from the order of operations: a checkpoint is complete and durable before
/// `latest` names it, and a file is deleted only once a newer one and `latest` are durable. A kill
/// at any moment leaves at worst a hidden temporary file, which readers never look at and the
/// next save removes.
public final class CheckpointStore {
    public static let formatVersion = "1"
    public static let formatVersionKey = "format_version"
    public static let latestFileName = "latest"
    static let prefix = "ckpt-"
    static let suffix = ".safetensors"

    public let runDirectory: String
    /// `runDirectory/checkpoints`
    public let directory: String
    /// How many checkpoints `save` keeps (at least 1).
    public var keepLast: Int

    public init(runDirectory: String, keepLast: Int = 3) {
        self.runDirectory = runDirectory
        self.directory = (runDirectory.hasSuffix("/") ? String(runDirectory.dropLast()) : runDirectory) + "/checkpoints"
        self.keepLast = max(1, keepLast)
    }

    public static func fileName(tag: String) -> String { prefix + tag + suffix }

    public func path(tag: String) -> String { directory + "/" + Self.fileName(tag: tag) }

    public var latestPath: String { directory + "/" + Self.latestFileName }

    // MARK: Saving

    public struct Saved {
        public let path: String
        public let byteCount: Int
        /// CRC-32 of the data section, as stored in `data_crc32`.
        public let dataCRC32: UInt32
        /// Older checkpoints deleted to keep `keepLast`.
        public let pruned: [String]
        /// Wall time of the whole save, fsyncs included.
        public let seconds: Double
    }

    /// Writes `ckpt-<tag>.safetensors` with the tensors in the given order and `metadata` plus
    /// `format_version`, `data_crc32` and `header_crc32`; then points `latest` at it; then prunes.
    @discardableResult
    public func save(tensors: [(name: String, shape: [Int], values: UnsafeBufferPointer<Float>)],
                     metadata: [String: String], tag: String) throws -> Saved {
        LauncherWatch.checkBeforeWriting()
        let clock = ContinuousClock()
        let start = clock.now
        try Self.checkTag(tag, directory: directory)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CheckpointError(file: directory, problem: "cannot create the checkpoint directory: \(error.localizedDescription)")
        }
        AtomicFile.removeStaleTemporaryFiles(in: directory)

        var meta = metadata
        meta[Self.formatVersionKey] = Self.formatVersion
        var writer = SafeTensorsWriter(metadata: meta, includesChecksums: true)
        writer.reserveDataCapacity(tensors.reduce(0) { $0 + $1.values.count * MemoryLayout<Float>.stride })
        let target = path(tag: tag)
        let written: SafeTensorsWriter.Written
        do {
            for t in tensors { try writer.add(name: t.name, shape: t.shape, floats: t.values) }
            written = try writer.writeAtomically(to: target)
            try AtomicFile.write(Array((Self.fileName(tag: tag) + "\n").utf8), to: latestPath)
        } catch let e as SafeTensorsError {
            throw CheckpointError(file: e.file == "SafeTensorsWriter" ? target : e.file, problem: e.problem)
        }
        let pruned = prune(keeping: Self.fileName(tag: tag))
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return Saved(path: target, byteCount: written.byteCount, dataCRC32: written.dataCRC32 ?? 0,
                     pruned: pruned, seconds: seconds)
    }

    static func checkTag(_ tag: String, directory: String) throws {
        let allowed = tag.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: ".")
        }
        guard !tag.isEmpty, allowed, !tag.hasPrefix(".") else {
            throw CheckpointError(file: directory, problem: "checkpoint tag '\(tag)' must be non-empty letters, digits, '-', '_' or '.', not starting with '.'")
        }
    }

    /// Keeps `keepLast` checkpoints: `justWritten` and what `latest` names, always, then the newest
    /// others by name; deletes the rest.
    private func prune(keeping justWritten: String) -> [String] {
        let names = checkpointFileNames()
        guard names.count > keepLast else { return [] }
        var protected: Set<String> = [justWritten]
        if let latest = try? readLatestPointer() { protected.insert(latest) }
        for name in names.reversed() where protected.count < keepLast { protected.insert(name) }
        var removed: [String] = []
        for name in names where !protected.contains(name) {
            let p = directory + "/" + name
            if unlink(p) == 0 { removed.append(p) }
        }
        return removed
    }

    /// Removes temporary files that writers killed mid-save left behind; `save` does this itself.
    @discardableResult
    public func removeStaleTemporaryFiles() -> [String] { AtomicFile.removeStaleTemporaryFiles(in: directory) }

    // MARK: Finding checkpoints

    /// Names of `ckpt-*.safetensors` files in the folder, oldest (smallest tag) first.
    public func checkpointFileNames() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter(Self.isCheckpointName).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    static func isCheckpointName(_ name: String) -> Bool {
        name.hasPrefix(prefix) && name.hasSuffix(suffix) && name.utf8.count > prefix.utf8.count + suffix.utf8.count
            && !name.contains("/")
    }

    /// The file name `latest` holds, nil if there is no `latest`; an error if it is unreadable or
    /// does not name a checkpoint file.
    public func readLatestPointer() throws -> String? {
        let p = latestPath
        guard FileManager.default.fileExists(atPath: p) else { return nil }
        guard let handle = FileHandle(forReadingAtPath: p) else {
            throw CheckpointError(file: p, problem: "cannot open the latest-checkpoint pointer")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: 4097)) ?? Data()
        guard data.count <= 4096, let text = String(data: data, encoding: .utf8) else {
            throw CheckpointError(file: p, problem: "latest-checkpoint pointer is not a short UTF-8 text")
        }
        let name = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard Self.isCheckpointName(name) else {
            throw CheckpointError(file: p, problem: "latest-checkpoint pointer holds '\(name.prefix(80))', not a ckpt-<tag>.safetensors name")
        }
        return name
    }

    /// The newest checkpoint that loads and verifies: the one `latest` names, else every
    /// `ckpt-*.safetensors` newest first. Each one that fails is skipped after `warn` is called with
    /// a line naming it and why. Nil when none is usable (the caller decides whether that is fatal).
    public func loadNewestValid(warn: (String) -> Void) throws -> LoadedCheckpoint? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else { return nil }
        guard isDirectory.boolValue else {
            throw CheckpointError(file: directory, problem: "exists but is not a directory")
        }
        let names = checkpointFileNames()
        var tried = Set<String>()
        do {
            if let latest = try readLatestPointer() {
                tried.insert(latest)
                let p = directory + "/" + latest
                if !FileManager.default.fileExists(atPath: p) {
                    warn("\(latestPath) names \(latest), which does not exist; looking for other checkpoints")
                } else {
                    do { return try Self.load(path: p) } catch { warn("skipping checkpoint \(error)") }
                }
            } else if !names.isEmpty {
                warn("\(latestPath) is missing; looking for the newest checkpoint that verifies")
            }
        } catch {
            warn("ignoring \(error)")
        }
        for name in names.reversed() where !tried.contains(name) {
            do { return try Self.load(path: directory + "/" + name) } catch { warn("skipping checkpoint \(error)") }
        }
        return nil
    }
}
