import ArgumentParser
import Linalg

/// `--ieee-subnormals`, shared by the commands that compute. The flag does its work before it is
/// parsed: main restarts the tool with `MPIVAE_IEEE_SUBNORMALS=1` when it sees it, because the
/// mode is fixed for OpenBLAS's threads before main runs. Declared here for the help text, and to
/// refuse running in a mode other than the one asked for.
struct SubnormalOption: ParsableArguments {
    @Flag(help: "Keep IEEE subnormal floats instead of flushing them to zero (slower on some CPUs; same as MPIVAE_IEEE_SUBNORMALS=1).")
    var ieeeSubnormals = false

    func validate() throws {
        if ieeeSubnormals && SubnormalMode.flushedOnThisThread {
            throw ValidationError("--ieee-subnormals: could not restart the tool with \(SubnormalMode.optOutVariable)=1; set it in the environment instead")
        }
    }
}
