import XCTest
@testable import Explain

final class ReportTests: XCTestCase {
    func testEscaping() {
        XCTAssertEqual(HTMLEscape.text("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;")
        XCTAssertEqual(HTMLEscape.text("plain ü"), "plain ü")
    }

    func testReportIsSelfContainedAndEscapesText() throws {
        let hostile = "<script>alert('x')</script>"
        var report = HTMLReport(title: "Explain \(hostile)")
        report.section("Data \(hostile)")
        report.facts([("data", hostile), ("checkpoint", "/tmp/\"quoted\"&.safetensors")])
        report.paragraph(hostile)
        report.table(headers: ["name", hostile], rows: [[hostile, "1"]])
        let img = try RasterImage.grey(unit: [0, 1, 0.5, 0.25], width: 2, height: 2)
        let png = try PNGWriter.encode(img)
        report.image(png: png, alt: hostile, caption: hostile, displayWidth: 100)
        report.chart(SVGChart.bars([.init(label: hostile, value: 2)], title: hostile, valueLabel: hostile, threshold: 0.5))
        report.chart(SVGChart.scatter(x: [0, 1], y: [1, 0], labels: [0, 1], classNames: [hostile, "b"],
                                      title: hostile, xLabel: hostile, yLabel: hostile))
        report.chart(SVGChart.intervals(centres: [0.5], halfWidths: [1], labels: [hostile], title: hostile, valueLabel: hostile))
        let html = report.render()

        XCTAssertFalse(html.lowercased().contains("<script"), "raw script tag leaked")
        XCTAssertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
        XCTAssertTrue(html.contains("&quot;quoted&quot;&amp;"))
        for bad in ["http:", "https:", "src=\"/", "href=\"/", "url(", "@import"] {
            XCTAssertFalse(html.contains(bad), "report references \(bad)")
        }
        // Every src is a data URI, and the inlined PNG decodes back to the original pixels.
        let srcs = html.components(separatedBy: "src=\"").dropFirst().map { $0.prefix { $0 != "\"" } }
        XCTAssertEqual(srcs.count, 1)
        for src in srcs {
            XCTAssertTrue(src.hasPrefix("data:image/png;base64,"))
            let data = try XCTUnwrap(Data(base64Encoded: String(src.dropFirst("data:image/png;base64,".count))))
            XCTAssertEqual(try PNGDecoder.decode([UInt8](data)).pixels, img.pixels)
        }
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 3)
        XCTAssertEqual(html.components(separatedBy: "</svg>").count - 1, 3)
    }

    func testBarChartGeometry() {
        let svg = SVGChart.bars([.init(label: "a", value: 1), .init(label: "b", value: 3, highlighted: true)],
                                title: "t", valueLabel: "v").markup
        let rects = svg.components(separatedBy: "<rect x=").count - 1
        XCTAssertEqual(rects, 2)
        XCTAssertTrue(svg.contains(SVGChart.strong.hex))
        // The taller bar is three times the shorter one.
        let heights = svg.components(separatedBy: "height=\"").dropFirst(2).compactMap { Double($0.prefix { $0 != "\"" }) }
        XCTAssertEqual(heights.count, 2)
        XCTAssertEqual(heights[1] / heights[0], 3, accuracy: 0.05)
    }

    func testScatterSubsamplesAndHasLegend() {
        let n = 10_000
        let x = (0..<n).map { Float($0 % 100) }, y = (0..<n).map { Float($0 / 100) }
        let labels = (0..<n).map { Int32($0 % 10) }
        let svg = SVGChart.scatter(x: x, y: y, labels: labels, classNames: (0..<10).map { "c\($0)" },
                                   title: "t", xLabel: "x", yLabel: "y", maxPoints: 1000).markup
        XCTAssertEqual(svg.components(separatedBy: "<circle").count - 1, 1000)
        for c in 0..<10 { XCTAssertTrue(svg.contains(">c\(c)</text>")) }
        let empty = SVGChart.scatter(x: [.nan], y: [1], labels: nil, title: "t", xLabel: "x", yLabel: "y").markup
        XCTAssertEqual(empty.components(separatedBy: "<circle").count - 1, 0)
    }

    func testAxisTicksAreRound() {
        let a = Axis(min: 0.013, max: 0.97)
        XCTAssertEqual(a.lo, 0)
        XCTAssertEqual(a.hi, 1, accuracy: 1e-12)
        XCTAssertEqual(a.step, 0.2, accuracy: 1e-12)
        let flat = Axis(min: 3, max: 3)
        XCTAssertLessThan(flat.lo, 3)
        XCTAssertGreaterThan(flat.hi, 3)
    }
}
