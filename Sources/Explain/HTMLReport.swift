import Foundation

/// Builds one self-contained HTML page: pictures inlined as base64 data URIs, charts as inline
/// SVG, no scripts and no network references. Every piece of text passes through HTMLEscape.
public struct HTMLReport {
    public let title: String
    private var body = ""
    private var contents: [(id: String, title: String)] = []

    public init(title: String) { self.title = title }

    /// A top-level section heading; it also gets an entry in the table of contents.
    public mutating func section(_ text: String) {
        let id = "s\(contents.count + 1)"
        contents.append((id, text))
        body += "<h2 id=\"\(id)\">\(HTMLEscape.text(text))</h2>\n"
    }

    public mutating func subheading(_ text: String) {
        body += "<h3>\(HTMLEscape.text(text))</h3>\n"
    }

    public mutating func paragraph(_ text: String) {
        body += "<p>\(HTMLEscape.text(text))</p>\n"
    }

    /// A PNG shown at `displayWidth` CSS pixels (its own width when nil), with a caption.
    public mutating func image(png: [UInt8], alt: String, caption: String? = nil, displayWidth: Int? = nil) {
        let widthAttr = displayWidth.map { " width=\"\($0)\"" } ?? ""
        body += "<figure><img src=\"data:image/png;base64,\(Data(png).base64EncodedString())\" alt=\"\(HTMLEscape.text(alt))\"\(widthAttr)>"
        if let caption { body += "<figcaption>\(HTMLEscape.text(caption))</figcaption>" }
        body += "</figure>\n"
    }

    public mutating func chart(_ svg: SVGFragment, caption: String? = nil) {
        body += "<figure>\(svg.markup)"
        if let caption { body += "<figcaption>\(HTMLEscape.text(caption))</figcaption>" }
        body += "</figure>\n"
    }

    public mutating func table(headers: [String], rows: [[String]]) {
        body += "<table><thead><tr>"
        for h in headers { body += "<th>\(HTMLEscape.text(h))</th>" }
        body += "</tr></thead><tbody>\n"
        for row in rows {
            body += "<tr>"
            for cell in row { body += "<td>\(HTMLEscape.text(cell))</td>" }
            body += "</tr>\n"
        }
        body += "</tbody></table>\n"
    }

    /// Two-column facts ("data", "checkpoint", ...).
    public mutating func facts(_ pairs: [(String, String)]) {
        body += "<dl>"
        for (k, v) in pairs { body += "<dt>\(HTMLEscape.text(k))</dt><dd>\(HTMLEscape.text(v))</dd>" }
        body += "</dl>\n"
    }

    public mutating func beginGroup() { body += "<div class=\"row\">\n" }
    public mutating func endGroup() { body += "</div>\n" }

    public func render() -> String {
        var s = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        s += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        s += "<title>\(HTMLEscape.text(title))</title>\n<style>\n\(Self.style)</style></head><body>\n"
        s += "<h1>\(HTMLEscape.text(title))</h1>\n"
        if !contents.isEmpty {
            s += "<nav><ul>"
            for c in contents { s += "<li><a href=\"#\(c.id)\">\(HTMLEscape.text(c.title))</a></li>" }
            s += "</ul></nav>\n"
        }
        return s + body + "</body></html>\n"
    }

    public func write(to path: String) throws {
        try FileOutput.write(render(), to: path)
    }

    static let style = """
    body { font-family: sans-serif; margin: 24px auto; max-width: 1200px; color: #222; line-height: 1.4; padding: 0 16px; }
    h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-top: 12px; } h3 { margin-bottom: 4px; }
    nav ul { columns: 3; } figure { display: inline-block; margin: 8px 12px 8px 0; vertical-align: top; }
    figcaption { font-size: 0.85em; color: #555; max-width: 720px; }
    img { image-rendering: pixelated; border: 1px solid #ddd; }
    table { border-collapse: collapse; margin: 8px 0; font-size: 0.85em; }
    th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: right; } th { background: #f3f3f3; }
    dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; } dt { font-weight: bold; } dd { margin: 0; word-break: break-all; }
    .row { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start; }

    """
}
