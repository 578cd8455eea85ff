import Foundation
import SystemMemory
import VAE

/// Before MPI starts (about half a second), a `--data` or `--checkpoint` path that names a
/// device, FIFO or socket is refused: the readers refuse it too, but only after start-up.
enum InputKinds {
    static func check(_ flag: String, _ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR, let kind = RegularFile.kindName(info.st_mode) else { return }
        throw ConfigError("\(flag) \(path): \(kind)")
    }
}
