import XCTest
@testable import SafeTensors

final class AtomicFileTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try makeTemporaryDirectory("atomic") }
    override func tearDown() {
        AtomicFile.failureInjection = nil
        try? FileManager.default.removeItem(atPath: dir)
    }

    struct Injected: Error {}

    func testFailureAtEveryStageLeavesTargetUntouchedAndNoTemporary() throws {
        let path = dir + "/f.bin"
        try AtomicFile.write([1, 2, 3], to: path)
        for stage: AtomicFile.Stage in [.created, .written, .synced] {
            AtomicFile.failureInjection = { if $0 == stage { throw Injected() } }
            XCTAssertThrowsError(try AtomicFile.write([UInt8](repeating: 9, count: 100_000), to: path)) { XCTAssertTrue($0 is Injected) }
            XCTAssertEqual(FileManager.default.contents(atPath: path), Data([1, 2, 3]), "stage \(stage)")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["f.bin"], "stage \(stage)")
        }
        AtomicFile.failureInjection = nil
        try AtomicFile.write([4], to: path)
        XCTAssertEqual(FileManager.default.contents(atPath: path), Data([4]))
    }

    func testUnwritableLocationThrowsOneLineNamingTheTarget() {
        let path = dir + "/no/such/dir/f.bin"
        XCTAssertThrowsError(try AtomicFile.write([1], to: path)) { e in
            XCTAssertTrue("\(e)".hasPrefix(path + ": cannot create temporary file"), "\(e)")
        }
    }

    func testRelativePathInCurrentDirectory() throws {
        let old = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(dir)
        defer { _ = FileManager.default.changeCurrentDirectoryPath(old) }
        try AtomicFile.write([7], to: "rel.bin")
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/rel.bin"), Data([7]))
    }

    func testTemporaryNamesAreRecognisedAndStaleOnesRemoved() throws {
        XCTAssertEqual(AtomicFile.temporaryFileInfo(".ckpt-e1.safetensors.tmp-123-4")?.target, "ckpt-e1.safetensors")
        XCTAssertEqual(AtomicFile.temporaryFileInfo(".latest.tmp-77-1")?.pid, 77)
        XCTAssertNil(AtomicFile.temporaryFileInfo("ckpt-e1.safetensors"))
        XCTAssertNil(AtomicFile.temporaryFileInfo(".x.tmp-abc-1"))
        XCTAssertNil(AtomicFile.temporaryFileInfo(".x.tmp-1"))

        // A dead writer's file goes; a live process's file (our parent's pid) and other files stay.
        let deadPid: Int32 = 2_147_483_000
        let stale = dir + "/.ckpt-a.safetensors.tmp-\(deadPid)-1"
        let live = dir + "/.ckpt-b.safetensors.tmp-\(getppid())-1"
        let other = dir + "/.hidden"
        for p in [stale, live, other] { _ = FileManager.default.createFile(atPath: p, contents: Data([0])) }
        XCTAssertEqual(AtomicFile.removeStaleTemporaryFiles(in: dir), [stale])
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir)),
                       [".ckpt-b.safetensors.tmp-\(getppid())-1", ".hidden"])
    }
}
