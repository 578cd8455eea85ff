import XCTest
final class SafeTensorsTestsPlaceholder: XCTestCase { func testBuilds() {} }
