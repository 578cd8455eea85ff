import Foundation

/// Counts Swift heap allocations by swapping the runtime's `_swift_allocObject` hook (a function
/// pointer the runtime calls through when it differs from the default) for a counting wrapper.
final class AllocationCounter {
    typealias AllocFunction = @convention(c) (UnsafeRawPointer?, Int, Int) -> UnsafeMutableRawPointer?
    private let hook: UnsafeMutablePointer<AllocFunction?>
    private let swizzlingFlag: UnsafeMutablePointer<Bool>

    struct Missing: Error, CustomStringConvertible {
        var description: String { "AllocationCounter: _swift_allocObject not found in the Swift runtime" }
    }

    init() throws {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "_swift_allocObject") else { throw Missing() }
        hook = symbol.assumingMemoryBound(to: AllocFunction?.self)
        guard let flag = dlsym(UnsafeMutableRawPointer(bitPattern: 0),
                               "_swift_enableSwizzlingOfAllocationAndRefCountingFunctions_forInstrumentsOnly")
        else { throw Missing() }
        swizzlingFlag = flag.assumingMemoryBound(to: Bool.self)
    }

    func count(_ body: () -> Void) -> Int {
        AllocationCounterState.original = hook.pointee
        AllocationCounterState.count = 0
        let wasSwizzling = swizzlingFlag.pointee
        swizzlingFlag.pointee = true
        hook.pointee = { metadata, size, alignMask in
            AllocationCounterState.count += 1
            return AllocationCounterState.original!(metadata, size, alignMask)
        }
        body()
        hook.pointee = AllocationCounterState.original
        swizzlingFlag.pointee = wasSwizzling
        return AllocationCounterState.count
    }
}

enum AllocationCounterState {
    nonisolated(unsafe) static var original: AllocationCounter.AllocFunction?
    nonisolated(unsafe) static var count = 0
}
