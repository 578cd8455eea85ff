import XCTest
final class ExplainTestsPlaceholder: XCTestCase { func testBuilds() {} }
