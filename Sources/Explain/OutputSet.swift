import Datasets
import Foundation
import MPI

/// The files written so far, by path relative to the output directory, plus the PNG bytes so the
/// report can inline them without reading the files back.
final class OutputSet {
    let directory: String
    private(set) var files: [String] = []
    private(set) var pngs: [String: [UInt8]] = [:]

    init(directory: String) throws {
        self.directory = directory
        try FileOutput.makeDirectory(directory)
    }

    /// Every file of the export is named through here just before it is written.
    func path(_ name: String) -> String {
        LauncherWatch.checkBeforeWriting()
        return directory + "/" + name
    }

    func subdirectory(_ name: String) throws { try FileOutput.makeDirectory(path(name)) }

    func png(_ name: String, _ image: RasterImage) throws {
        let bytes = try PNGWriter.encode(image)
        try FileOutput.write(bytes, to: path(name))
        pngs[name] = bytes
        files.append(name)
    }

    func npy(_ name: String, _ values: [Float], shape: [Int]) throws {
        try NPYWriter.write(values, shape: shape, to: path(name))
        files.append(name)
    }

    func npy(_ name: String, _ values: [Int32], shape: [Int]) throws {
        try NPYWriter.write(values, shape: shape, to: path(name))
        files.append(name)
    }

    func csv(_ name: String, _ table: CSVDocument) throws {
        try table.write(to: path(name))
        files.append(name)
    }

    func text(_ name: String, _ content: String) throws {
        try FileOutput.write(content, to: path(name))
        files.append(name)
    }

    /// Records a name that will be written last (the summary lists itself and the report).
    func reserve(_ name: String) { files.append(name) }

    /// Deletes what an earlier export left under `name`, so that until this export writes it
    /// again nothing in the directory vouches for files this one may not finish replacing.
    func withdraw(_ name: String) throws {
        guard unlink(path(name)) == 0 || errno == ENOENT else {
            throw ExplainError("\(path(name)): could not remove the earlier export's file (\(String(cString: strerror(errno))))")
        }
    }
}
