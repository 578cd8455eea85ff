#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Creates a directory and its parents, and when it cannot, says why in words a user can act
/// on: which component is a file, or what the system refused, instead of Foundation's
/// "NSCocoaErrorDomain error 512".
public enum DirectoryCreation {
    public static func create(_ path: String) -> Result<Void, RegularFile.Refusal> {
        guard !path.isEmpty else { return .failure(.init("an empty path")) }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + component
            var info = stat()
            if stat(prefix, &info) == 0 {
                guard (info.st_mode & S_IFMT) == S_IFDIR else {
                    return .failure(.init(prefix == path ? "is a file, not a directory" : "\(prefix) is a file, not a directory"))
                }
                continue
            }
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                return .failure(.init("cannot create \(prefix): \(String(cString: strerror(errno)))"))
            }
        }
        return .success(())
    }
}
