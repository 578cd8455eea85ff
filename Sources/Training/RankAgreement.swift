import Datasets
import Foundation
import MPI

/// An error every rank raised together, after agreeing on it: the job ends with a non-zero exit on
/// every rank, rank 0 prints the reason once, and nobody needs MPI_Abort.
public struct AgreedError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Communicator {
    /// Runs `body` on rank 0 only and shares its outcome: if it throws, every rank throws the same
    /// `AgreedError`, so a decision that only rank 0 can make (files it owns) never leaves the other
    /// ranks waiting in a later collective.
    public func rootDecides(_ body: () throws -> Void) throws {
        var failure = ""
        if rank == 0 {
            do { try body() } catch { failure = "\(error)" }
        }
        failure = try broadcast(string: failure, root: 0)
        if !failure.isEmpty { throw AgreedError(failure) }
    }

    /// Every rank runs `body`; if any rank fails, all ranks throw, with the lowest failing rank's
    /// reason, so a bad file seen by one rank ends the job cleanly instead of hanging the others.
    public func everyoneSucceeds<T>(_ what: String, _ body: () throws -> T) throws -> T {
        var result: T?
        var failure = ""
        do { result = try body() } catch { failure = "\(error)" }
        let failed = try allreduce(Int32(failure.isEmpty ? 0 : 1), op: .max)
        if failed != 0 {
            let reasons = try gather(string: failure, root: 0)
            // Across hosts the rank alone does not say where to look (a file missing on one node).
            let hosts = try gather(string: MPIRuntime.processorName, root: 0)
            let first = reasons.enumerated().first { !$0.element.isEmpty }
            let reason = first.map { size > 1 ? "rank \($0.offset) on host \(hosts[$0.offset]): \($0.element)" : $0.element }
                ?? "\(what) failed on another rank"
            throw AgreedError(rank == 0 ? reason : failure.isEmpty ? "\(what) failed on another rank" : failure)
        }
        guard let value = result else { throw AgreedError("\(what) produced no result") }
        return value
    }
}

/// What every rank must agree on before the first step: the configuration, the dataset and the
/// model's size. Each is hashed; rank 0 compares every rank's hashes with its own and names the
/// first rank and field that differ.
public struct StartupAgreement {
    var fields: [(name: String, detail: String)]

    public init(fields: [(name: String, detail: String)]) { self.fields = fields }

    public func check(on comm: Communicator) throws {
        let hashes = fields.map { Int64(bitPattern: FNV1a.hash($0.detail)) }
        let all = try comm.allgather(hashes)
        let n = fields.count
        for r in 0..<comm.size {
            for (i, field) in fields.enumerated() where all[r * n + i] != all[i] {
                // Every rank knows the job is over; rank 0 fetches the odd rank's value to say how.
                let details = try comm.gather(string: field.detail, root: 0)
                let theirs = comm.rank == 0 ? details[r] : ""
                throw AgreedError("rank \(r) disagrees with rank 0 on the \(field.name): "
                    + Self.firstDifference(field.detail, theirs, rank: r))
            }
        }
    }

    /// The first line where two renderings differ (configs are pretty-printed JSON, one key a line).
    static func firstDifference(_ ours: String, _ theirs: String, rank: Int) -> String {
        let a = ours.split(separator: "\n", omittingEmptySubsequences: false)
        let b = theirs.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? a[i].trimmingCharacters(in: .whitespaces) : "(nothing)"
            let y = i < b.count ? b[i].trimmingCharacters(in: .whitespaces) : "(nothing)"
            if x != y { return "rank 0 has \(x.prefix(160)), rank \(rank) has \(y.prefix(160))" }
        }
        return "the values differ"
    }
}


/// Every rank must hold the same samples, or the ranks compute on different rows and the
/// collectives that follow mismatch. Used by every command that reads data.
public enum DataAgreement {
    public static func check(_ datasets: [(role: String, dataset: Dataset?)], on comm: Communicator) throws {
        try StartupAgreement(fields: datasets.map { ($0.role, $0.dataset.map(describe) ?? "none") }).check(on: comm)
    }

    static func describe(_ d: Dataset) -> String {
        "\(d.name): \(d.count) samples of \(d.sampleShape), fingerprint \(d.fingerprint)"
    }
}
