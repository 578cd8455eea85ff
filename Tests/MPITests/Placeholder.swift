import XCTest
final class MPITestsPlaceholder: XCTestCase { func testBuilds() {} }
