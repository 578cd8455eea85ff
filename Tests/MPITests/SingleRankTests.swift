import CMPI
import MPI
import XCTest

/// The MPI module inside this test process, which is a world of one rank (an MPI singleton):
/// collectives must then be identities, and invalid calls must throw MPI's own error.
final class SingleRankTests: XCTestCase {
    let world = Communicator.world

    func testWorldOfOneWithoutMpirun() throws {
        XCTAssertEqual(world.rank, 0)
        XCTAssertEqual(world.size, 1)
        XCTAssertTrue(MPIRuntime.isInitialized)
        XCTAssertFalse(MPIRuntime.isFinalized)
        XCTAssertEqual(MPIRuntime.threadLevel.map { $0 >= .funneled }, true)
        try MPIRuntime.initialize()   // idempotent
        XCTAssertTrue(MPIRuntime.isInitialized)
        XCTAssertTrue(Communicator.world === world)

        let version = MPIRuntime.libraryVersion
        XCTAssertTrue(version.contains("MPI"), version)
        XCTAssertFalse(version.contains("\n"))
        XCTAssertGreaterThanOrEqual(MPIRuntime.standardVersion.major, 3)
        XCTAssertFalse(MPIRuntime.processorName.isEmpty)
        let start = MPIRuntime.wallTime()
        XCTAssertGreaterThanOrEqual(MPIRuntime.wallTime(), start)
    }

    func testAllreduceIsIdentityOnOneRank() throws {
        for op in ReduceOp.allCases {
            try assertAllreduceIdentity([Float(1.5), -2.25, .greatestFiniteMagnitude], op)
            try assertAllreduceIdentity([Double(3.5), -1e300, 0], op)
            try assertAllreduceIdentity([Int32.min, 7, Int32.max], op)
            try assertAllreduceIdentity([Int64.min, -9, Int64.max], op)
            try assertAllreduceIdentity([UInt8(0), 200, 255], op)
            try assertAllreduceIdentity([UInt64(0), UInt64.max], op)
            try assertAllreduceIdentity([Int(-5), 42], op)
            XCTAssertEqual(try world.allreduce(Float(-0.5), op: op), -0.5)
            XCTAssertEqual(try world.allreduce(Int64(1) << 50, op: op), Int64(1) << 50)
        }
        // An empty buffer may have no base address at all.
        try world.allreduce(UnsafeMutableBufferPointer<Float>(start: nil, count: 0), op: .sum)
        var empty: [Double] = []
        try world.allreduce(&empty, op: .max)
        XCTAssertEqual(empty, [])
    }

    private func assertAllreduceIdentity<T: MPIScalar & Equatable>(_ values: [T], _ op: ReduceOp,
                                                                     line: UInt = #line) throws {
        var array = values
        try world.allreduce(&array, op: op)
        XCTAssertEqual(array, values, "\(T.self) \(op)", line: line)
        var viaPointer = values
        try viaPointer.withUnsafeMutableBufferPointer { try world.allreduce($0, op: op) }
        XCTAssertEqual(viaPointer, values, "\(T.self) \(op) via buffer pointer", line: line)
    }

    func testBroadcastOnOneRank() throws {
        var buffer: [Double] = [1.25, -7]
        try buffer.withUnsafeMutableBufferPointer { try world.broadcast($0, root: 0) }
        XCTAssertEqual(buffer, [1.25, -7])
        var array: [Int32] = [4, 5, 6]
        try world.broadcast(&array, root: 0)
        XCTAssertEqual(array, [4, 5, 6])
        var nothing: [Float] = []
        try world.broadcast(&nothing, root: 0)
        XCTAssertEqual(nothing, [])
        XCTAssertEqual(try world.broadcast(bytes: [0, 255, 10], root: 0), [0, 255, 10])
        XCTAssertEqual(try world.broadcast(string: "gradient ✓ ünïcødé", root: 0), "gradient ✓ ünïcødé")
        XCTAssertEqual(try world.broadcast(string: "", root: 0), "")
    }

    func testGatherFamilyOnOneRank() throws {
        XCTAssertEqual(try world.gather([Int64(3), -4], root: 0), [3, -4])
        XCTAssertEqual(try world.gatherv([Float(1), 2, 3], root: 0), [[1, 2, 3]])
        XCTAssertEqual(try world.gatherv([Double](), root: 0), [[]])
        XCTAssertEqual(try world.allgather([UInt8(9), 8]), [9, 8])
        XCTAssertEqual(try world.allgatherv([Int32(-1)]), [[-1]])
        XCTAssertEqual(try world.allgatherv([UInt64]()), [[]])
        XCTAssertEqual(try world.gather(string: "host ✓", root: 0), ["host ✓"])
        XCTAssertEqual(try world.allgather(string: ""), [""])
    }

    func testDupAndSplitOnOneRank() throws {
        let copy = try world.dup()
        XCTAssertEqual(copy.rank, 0)
        XCTAssertEqual(copy.size, 1)
        XCTAssertEqual(try copy.allreduce(Int32(7), op: .sum), 7)
        try copy.barrier()

        let part = try XCTUnwrap(try world.split(color: 3, key: 9))
        XCTAssertEqual(part.size, 1)
        XCTAssertEqual(try part.gatherv([Int64(2)], root: 0), [[2]])
        XCTAssertNil(try world.split(color: Communicator.undefinedColor, key: 0))

        // Released communicators are freed: making many must not exhaust MPI's context ids.
        for _ in 0..<200 {
            let scratch = try world.dup()
            try scratch.barrier()
        }
    }

    func testInvalidCallsThrowMPIErrorWithMPIsMessage() throws {
        // Root 1 does not exist in a world of one: MPI's own argument check must reject it.
        let rootMessage = MPICheckExpectations.mpiErrorString(MPI_ERR_ROOT)
        XCTAssertTrue(rootMessage.hasPrefix("MPI_ERR_ROOT"), rootMessage)
        var buffer: [Float] = [1, 2]
        let invalid: [(String, () throws -> Void)] = [
            ("MPI_Bcast", { try buffer.withUnsafeMutableBufferPointer { try self.world.broadcast($0, root: 1) } }),
            ("MPI_Bcast", { var array: [Int32] = [1]; try self.world.broadcast(&array, root: -1) }),
            ("MPI_Bcast", { _ = try self.world.broadcast(string: "x", root: Int.max) }),
            ("MPI_Gather", { _ = try self.world.gather([Double(1)], root: 2) }),
            ("MPI_Gatherv", { _ = try self.world.gatherv([Double(1)], root: 5) }),
        ]
        for (call, attempt) in invalid {
            XCTAssertThrowsError(try attempt(), call) { error in
                guard let mpiError = error as? MPIError else { return XCTFail("not an MPIError: \(error)") }
                XCTAssertEqual(mpiError.code, MPI_ERR_ROOT)
                XCTAssertEqual(mpiError.call, call)
                XCTAssertEqual(mpiError.message, rootMessage)
                XCTAssertEqual(mpiError.description, "\(call) failed: \(rootMessage)")
            }
        }
        XCTAssertThrowsError(try world.split(color: -2, key: 0)) { error in
            XCTAssertEqual(error as? MPIError, MPIError(code: MPI_ERR_ARG, message: MPICheckExpectations.mpiErrorString(MPI_ERR_ARG),
                                                        call: "MPI_Comm_split"))
        }
        // The communicator still works after the errors.
        try world.barrier()
        XCTAssertEqual(try world.allreduce(Int32(4), op: .sum), 4)
    }

    func testCountBeyondMPIsIntIsRefusedBeforeCallingMPI() throws {
        // The buffer is never touched: the count is refused before any MPI call.
        let one = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        defer { one.deallocate() }
        let huge = UnsafeMutableBufferPointer(start: one, count: Int(Int32.max) + 1)
        XCTAssertThrowsError(try world.allreduce(huge, op: .sum)) { error in
            let mpiError = error as? MPIError
            XCTAssertEqual(mpiError?.code, MPI_ERR_COUNT)
            XCTAssertEqual(mpiError?.call, "MPI_Allreduce")
            XCTAssertEqual(mpiError?.message.contains("2147483648"), true, "\(error)")
            XCTAssertEqual(mpiError?.description.contains("\n"), false)
        }
    }
}
