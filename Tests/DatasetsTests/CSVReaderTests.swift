import XCTest
@testable import Datasets

final class CSVReaderTests: XCTestCase {
    func parse(_ text: String) throws -> CSVTable { try CSVReader.parse(Array(text.utf8), source: "t.csv") }

    func testHeaderlessNumbers() throws {
        let t = try parse("1,2.5,-3\n4e2, 5 ,6\r\n\n")
        XCTAssertEqual(t.rows, 2)
        XCTAssertEqual(t.cols, 3)
        XCTAssertEqual(t.values, [1, 2.5, -3, 400, 5, 6])
        XCTAssertNil(t.columnNames)
        XCTAssertNil(t.labels)
    }

    func testHeaderWithLabelColumn() throws {
        let t = try parse("\u{FEFF}a,Label,\"b\"\n0.5,3,1\n0.25,0,\"2\"")
        XCTAssertEqual(t.rows, 2)
        XCTAssertEqual(t.cols, 2)
        XCTAssertEqual(t.values, [0.5, 1, 0.25, 2])
        XCTAssertEqual(t.columnNames ?? [], ["a", "b"])
        XCTAssertEqual(t.labels ?? [], [3, 0])
    }

    func testHeaderWithoutLabelKeepsEveryColumn() throws {
        let t = try parse("x,y\n1,2\n")
        XCTAssertEqual(t.cols, 2)
        XCTAssertEqual(t.values, [1, 2])
        XCTAssertNil(t.labels)
    }

    func testMalformedRowsNameLineAndColumn() {
        assertDataError(try parse(""), contains: ["t.csv", "empty file"])
        assertDataError(try parse("\n  \n"), contains: ["t.csv", "empty file"])
        assertDataError(try parse("a,b\n"), contains: ["t.csv", "no data rows"])
        assertDataError(try parse("1,2\n3\n"), contains: ["t.csv", "line 2", "1 fields, expected 2", "ragged"])
        assertDataError(try parse("1,2\n3,4,5\n"), contains: ["line 2", "3 fields"])
        assertDataError(try parse("1,2\n3,x4\n"), contains: ["line 2, column 2", "'x4' is not a number"])
        assertDataError(try parse("1,2\n\n3,\n"), contains: ["line 3, column 2", "empty field"])
        assertDataError(try parse("1,nan\n"), contains: ["line 1, column 2", "NaN"])
        assertDataError(try parse("a,b\n1,2\n-inf,2\n"), contains: ["line 3, column 1", "infinity"])
        assertDataError(try parse("1,1e39\n"), contains: ["line 1, column 2", "overflows Float"])
        assertDataError(try parse("label,x\n1.5,2\n"), contains: ["line 2, column 1", "label '1.5'"])
        assertDataError(try parse("label,x\n-1,2\n"), contains: ["label '-1'"])
        assertDataError(try parse("label,LABEL\n1,2\n"), contains: ["2 columns named 'label'"])
        assertDataError(try parse("label\n1\n"), contains: ["no feature columns"])
    }

    func testEveryTruncationParsesOrFailsCleanly() {
        let file = Array("f1,label,f2\n0.5,1,2e-3\n-7,0,8\n1.25,2,\"3\"\r\n".utf8)
        var parsed = 0
        for cut in 0...file.count {
            if succeedsOrThrowsCleanly("c.csv", { try CSVReader.parse(Array(file[0..<cut]), source: "c.csv") }) != nil {
                parsed += 1
            }
        }
        XCTAssertGreaterThan(parsed, 3)   // whole-row prefixes are valid CSV
    }

    func testEveryTruncationOnDiskLoadsOrFailsCleanly() throws {
        let dir = try makeTemporaryDirectory(self)
        let file = Array("a,label\n0.5,1\n-7,0\n".utf8)
        for cut in 0...file.count {
            let path = "\(dir)/c\(cut).csv"
            try writeFile(Array(file[0..<cut]), to: path)
            for split in Split.allCases {
                succeedsOrThrowsCleanly(path) { try DataSource.load(path, split: split) }
            }
        }
        assertDataError(try DataSource.load(dir + "/c8.csv", split: .train), contains: ["c8.csv", "no data rows"])
    }

    func testRandomBytesFailCleanly() {
        for seed in 0..<300 as Range<UInt64> {
            var bytes = pseudoRandomBytes(count: Int(seed % 80), seed: seed)
            // Bias towards CSV-looking input: digits, commas and newlines.
            let alphabet = Array("0123456789.,-e\n ".utf8)
            if seed % 2 == 0 { bytes = bytes.map { alphabet[Int($0) % alphabet.count] } }
            succeedsOrThrowsCleanly("r.csv") { try CSVReader.parse(bytes, source: "r.csv") }
        }
    }

    func testReadFromDiskAndDatasetSplit() throws {
        let dir = try makeTemporaryDirectory(self)
        let rows = (0..<12).map { "\($0),\($0 % 3),\(Double($0) / 4)" }.joined(separator: "\n")
        try writeFile(Array(("a,label,b\n" + rows).utf8), to: dir + "/t.csv")
        let plain = try CSVReader.read(path: dir + "/t.csv")
        XCTAssertEqual(plain.rows, 12)
        XCTAssertEqual(plain.cols, 2)
        XCTAssertEqual(Array(plain.values[22...]), [11, 2.75])

        let train = try DataSource.load(dir + "/t.csv", split: .train)
        let test = try DataSource.load(dir + "/t.csv", split: .test)
        XCTAssertEqual(train.count, 10)
        XCTAssertEqual(test.count, 2)
        XCTAssertEqual(test.labels ?? [], [1, 2])
        var row = [Float](repeating: 0, count: 2)
        test.copySample(1, into: &row)
        XCTAssertEqual(row, [11, 2.75])
    }

    func testAnEmptyFieldInTheFirstRowIsAMissingValueNotAHeader() {
        XCTAssertThrowsError(try parse("1,,3\n4,5,6\n")) { error in
            XCTAssertTrue("\(error)".contains("line 1, column 2: empty field"), "\(error)")
        }
    }

    func testLabelsKeepEveryInt32() throws {
        let t = try parse("a,label\n1,16777217\n2,2147483647\n3,5.0\n")
        XCTAssertEqual(t.labels, [16_777_217, 2_147_483_647, 5])
        XCTAssertThrowsError(try parse("a,label\n1,2147483648\n"))
        XCTAssertThrowsError(try parse("a,label\n1,2.5\n"))
        XCTAssertThrowsError(try parse("a,label\n1,-1\n"))
    }
}
