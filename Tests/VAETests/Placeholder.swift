import XCTest
final class VAETestsPlaceholder: XCTestCase { func testBuilds() {} }
