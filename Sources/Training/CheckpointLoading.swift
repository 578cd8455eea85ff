import SafeTensors

/// A checkpoint read back in full: every tensor as Float values with its shape, the metadata, and
/// what its checksums said.
public struct LoadedCheckpoint {
    public struct Tensor: Equatable {
        public let name: String
        public let shape: [Int]
        public let values: [Float]
    }

    public let path: String
    public let metadata: [String: String]
    /// Tensor names in file order.
    public let tensorNames: [String]
    public let tensors: [String: Tensor]
    public let checksums: ChecksumReport

    /// Both the data and the header checksum were present and hold.
    public var isVerified: Bool { checksums.allVerified }
    public var formatVersion: String? { metadata[CheckpointStore.formatVersionKey] }

    public func tensor(_ name: String) throws -> Tensor {
        guard let t = tensors[name] else {
            // The full-covariance head's second part was log s (`encoder.logdiag.*`) before it
            // became log s² (`encoder.logvar.*`, the diagonal head's meaning): such a file's
            // weights would mean another posterior, so it is refused by name.
            if tensors["encoder.logdiag.weight"] != nil {
                throw CheckpointError(file: path, problem: "a full-covariance checkpoint of an earlier version (its head emits log s as 'encoder.logdiag', this version's emits log s² as 'encoder.logvar'); retrain it with this version")
            }
            throw CheckpointError(file: path, problem: "no tensor named '\(name)' in the checkpoint")
        }
        return t
    }

    /// The values of `name`, which must have exactly `shape`: how callers find out a checkpoint
    /// belongs to another model configuration.
    public func values(_ name: String, shape: [Int]) throws -> [Float] {
        let t = try tensor(name)
        guard t.shape == shape else {
            throw CheckpointError(file: path, problem: "tensor '\(name)' has shape \(t.shape) but \(shape) was expected (checkpoint of another model configuration?)")
        }
        return t.values
    }

    /// Copies `name` (of exactly `shape`) into `destination`, whose count must match.
    public func copy(_ name: String, shape: [Int], into destination: UnsafeMutableBufferPointer<Float>) throws {
        let v = try values(name, shape: shape)
        guard v.count == destination.count else {
            throw CheckpointError(file: path, problem: "tensor '\(name)' has \(v.count) values, destination holds \(destination.count)")
        }
        _ = destination.initialize(from: v)
    }
}

extension CheckpointStore {
    /// Reads and checks a checkpoint file: a valid safetensors file, format version this code
    /// understands, only F32 tensors, and checksums that hold. With `requireChecksums` false a file
    /// without checksums (e.g. written by another tool) is accepted, `isVerified` then false; a
    /// checksum that is present and wrong is always an error.
    public static func load(path: String, requireChecksums: Bool = true) throws -> LoadedCheckpoint {
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile.read(path: path)
        } catch let e as SafeTensorsError {
            throw CheckpointError(file: path, problem: e.problem)
        }
        return try load(file: file, requireChecksums: requireChecksums)
    }

    /// The same checks on a file's bytes already in memory, e.g. broadcast from rank 0;
    /// `source` names it in errors.
    public static func load(bytes: [UInt8], source: String, requireChecksums: Bool = true) throws -> LoadedCheckpoint {
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile.parse(bytes: bytes, source: source)
        } catch let e as SafeTensorsError {
            throw CheckpointError(file: source, problem: e.problem)
        }
        return try load(file: file, requireChecksums: requireChecksums)
    }

    /// The checkpoint checks on a file already parsed (its `source` names it in errors).
    public static func load(file: SafeTensorsFile, requireChecksums: Bool = true) throws -> LoadedCheckpoint {
        let path = file.source
        let report = file.verifyChecksums()
        for (key, state) in [(Checksum.dataKey, report.data), (Checksum.headerKey, report.header)] {
            switch state {
            case .verified: break
            case .mismatch(let stored, let computed):
                throw CheckpointError(file: path, problem: "\(key) does not hold (stored \(Checksum.hex(stored)), computed \(Checksum.hex(computed))): the file is corrupt")
            case .malformed(let why):
                throw CheckpointError(file: path, problem: why)
            case .absent:
                if requireChecksums {
                    throw CheckpointError(file: path, problem: "metadata has no \(key); not a checkpoint written by mpivae (or its header is damaged)")
                }
            }
        }
        if let version = file.metadata[formatVersionKey], version != formatVersion {
            throw CheckpointError(file: path, problem: "\(formatVersionKey) is '\(version)'; this build reads version \(formatVersion)")
        } else if file.metadata[formatVersionKey] == nil && requireChecksums {
            throw CheckpointError(file: path, problem: "metadata has no \(formatVersionKey); not a checkpoint written by mpivae")
        }
        var tensors: [String: LoadedCheckpoint.Tensor] = [:]
        for e in file.tensors {
            guard e.dtype == .F32 else {
                throw CheckpointError(file: path, problem: "tensor '\(e.name)' has dtype \(e.dtype.rawValue); checkpoints hold F32 tensors only")
            }
            tensors[e.name] = LoadedCheckpoint.Tensor(name: e.name, shape: e.shape, values: try file.floats(e.name))
        }
        return LoadedCheckpoint(path: path, metadata: file.metadata, tensorNames: file.tensors.map { $0.name },
                                tensors: tensors, checksums: report)
    }
}
