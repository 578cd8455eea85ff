/// Where training stands: the next step to run. The global batch sequence depends only on the
/// seed and the global batch size, so the same position means the same next samples on any
/// number of ranks.
public struct TrainingPosition: Equatable {
    public var epoch = 0
    public var stepInEpoch = 0
    /// Steps taken since the start of the run.
    public var globalStep = 0

    public init(epoch: Int = 0, stepInEpoch: Int = 0, globalStep: Int = 0) {
        self.epoch = epoch
        self.stepInEpoch = stepInEpoch
        self.globalStep = globalStep
    }

    /// Samples consumed since the start of the run.
    public func samplePosition(datasetCount: Int, batch: Int) -> Int {
        epoch * datasetCount + min(stepInEpoch * batch, datasetCount)
    }
}
