import SystemMemory
import Foundation
import MPI

/// Writes whole files through a temporary name in the same directory and a rename, so a reader
/// (or a crash) never sees half a file.
enum FileOutput {
    static func write(_ bytes: [UInt8], to path: String) throws {
        LauncherWatch.checkBeforeWriting()
        let tmp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: tmp, contents: Data(bytes)) else {
            throw ExplainError("\(path): could not write the file (\(String(cString: strerror(errno))))")
        }
        if rename(tmp, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw ExplainError("\(path): could not move the finished file into place (\(reason))")
        }
    }

    static func write(_ text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }

    static func makeDirectory(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw ExplainError("\(path): expected a directory for the explanation output, found a file")
            }
            return
        }
        if case .failure(let refusal) = DirectoryCreation.create(path) {
            throw ExplainError("\(path): could not create the output directory: \(refusal)")
        }
    }
}
