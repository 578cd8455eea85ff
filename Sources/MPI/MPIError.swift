import CMPI

/// A failed MPI call. Communicators run with `MPI_ERRORS_RETURN`, so MPI hands the error code back
/// instead of killing the job, and it surfaces here with MPI's own text for it.
public struct MPIError: Error, CustomStringConvertible, Equatable {
    /// The MPI error code (`MPI_ERR_ROOT`, `MPI_ERR_COUNT`, ...), as returned by the call.
    public let code: Int32
    /// `MPI_Error_string` of the code; for errors this module detects before calling MPI (a count
    /// too large for MPI's `int`), that string followed by the detail.
    public let message: String
    /// The MPI function that failed, e.g. `MPI_Bcast`.
    public let call: String

    public init(code: Int32, message: String, call: String) {
        self.code = code
        self.message = message
        self.call = call
    }

    /// The error for return code `code` of `call`, described by the MPI library.
    public init(code: Int32, call: String) {
        self.init(code: code, message: MPIError.errorString(code), call: call)
    }

    /// One line: the call, then MPI's message.
    public var description: String { "\(call) failed: \(message)" }

    /// `MPI_Error_string` for `code`, on one line; a generic text if MPI does not know the code.
    public static func errorString(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        let rc = MPI_Error_string(code, &buffer, &length)
        guard rc == MPI_SUCCESS, length > 0 else { return "MPI error code \(code)" }
        let bytes = buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }
        return oneLine(String(decoding: bytes, as: UTF8.self))
    }
}

/// Turns an MPI return code into a thrown `MPIError`. The call name is a StaticString so the
/// success path allocates nothing (allreduce on the training hot path goes through here).
@inline(__always)
func check(_ rc: Int32, _ call: StaticString) throws {
    if rc != MPI_SUCCESS {
        throw MPIError(code: rc, call: "\(call)")
    }
}
