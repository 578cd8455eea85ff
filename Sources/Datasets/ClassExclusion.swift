extension Dataset {
    /// The samples whose label is not `label`, in their order, as a dataset of their own (a copy):
    /// training without one class, to see how the model treats it when it comes back.
    public func excluding(label: Int32) throws -> Dataset {
        guard let labels else {
            throw DataError(name, "--exclude-class \(label) needs labels, and these data have none")
        }
        let kept = labels.indices.filter { labels[$0] != label }
        guard kept.count < labels.count else {
            let present = Set(labels).sorted().map(String.init).joined(separator: ", ")
            throw DataError(name, "--exclude-class \(label): no sample has that label; the labels are \(present)")
        }
        guard !kept.isEmpty else { throw DataError(name, "--exclude-class \(label) would leave no samples") }
        let d = dimension, start = firstSample
        let storage: Storage
        switch self.storage {
        case .bytes(let bytes):
            var out = [UInt8](); out.reserveCapacity(kept.count * d)
            for i in kept { out.append(contentsOf: bytes[((start + i) * d)..<((start + i + 1) * d)]) }
            storage = .bytes(out)
        case .floats(let floats):
            var out = [Float](); out.reserveCapacity(kept.count * d)
            for i in kept { out.append(contentsOf: floats[((start + i) * d)..<((start + i + 1) * d)]) }
            storage = .floats(out)
        }
        return Dataset(unchecked: name + " without class \(label)", sampleShape: sampleShape, storage: storage,
                       labels: kept.map { labels[$0] })
    }
}
