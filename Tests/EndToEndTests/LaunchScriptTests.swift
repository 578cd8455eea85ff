import Foundation
import TestSupport
import XCTest

/// `Launch/train.sh` as a user runs it, from a checkout whose path has a space in it. The copy
/// here has a `setup.sh` that installs nothing and a `swift` that builds nothing, and its
/// `.build/release/mpivae` is the tool these tests built, so only the script's own logic runs.
final class LaunchScriptTests: EndToEndCase {
    /// A checkout holding this worktree's train.sh; returns the script's path and the PATH to use.
    func checkout() throws -> (script: String, path: String) {
        let root = Tool.temporaryDirectory("check out")
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Launch/train.sh").path
        let fm = FileManager.default
        for dir in ["Launch", ".build/release", "bin"] { try fm.createDirectory(atPath: root + "/" + dir, withIntermediateDirectories: true) }
        try fm.copyItem(atPath: sources, toPath: root + "/Launch/train.sh")
        try fm.createSymbolicLink(atPath: root + "/.build/release/mpivae", withDestinationPath: try Launcher.executablePath("mpivae"))
        for stub in ["Launch/setup.sh", "bin/swift"] {
            try "#!/bin/sh\nexit 0\n".write(toFile: root + "/" + stub, atomically: true, encoding: .utf8)
            chmod(root + "/" + stub, 0o755)
        }
        return (root + "/Launch/train.sh", root + "/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"))
    }

    func train(_ args: [String], ranks: String = "1") throws -> ProcessResult {
        let (script, path) = try checkout()
        return try ProcessRunner.run("bash", [script] + args, environment: Launcher.launchEnvironment(["PATH": path, "MPIVAE_RANKS": ranks]),
                                     timeout: 120)
    }

    /// The script's benchmark recipe is a default like mpivae's own: a --config file's settings
    /// must win over it, as they win over mpivae's defaults.
    func testAConfigFileDecidesTheRun() throws {
        let dir = Tool.temporaryDirectory("config run")
        let config = dir + "/my settings.json"
        try """
            {"data": "synthetic:n=1000", "hidden": [48], "latent": 3, "batchSize": 60, "epochs": 1, "maxSteps": 20,
             "evaluateTest": false, "explain": false, "out": "\(dir)/from config"}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let result = try train(["--config", config])
        XCTAssertEqual(result.exitCode, 0, result.summary)
        XCTAssertTrue(result.stdout.contains("training synthetic"), result.stdout)
        let saved = try String(contentsOfFile: dir + "/from config/config.json", encoding: .utf8)
        XCTAssertTrue(saved.contains("\"latent\" : 3"), saved)
    }

    /// Arguments with spaces pass through intact, and a failing mpivae fails the script.
    func testArgumentsPassThroughAndFailuresPropagate() throws {
        let out = Tool.temporaryDirectory("script") + "/a run"
        let args = ["--data", "synthetic:n=1000", "--hidden", "48", "--latent", "3", "--batch-size", "60", "--epochs", "1",
                    "--no-eval", "--no-explain", "--out", out]
        let first = try train(args)
        XCTAssertEqual(first.exitCode, 0, first.summary)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/config.json"))
        let second = try train(args)
        XCTAssertNotEqual(second.exitCode, 0, second.summary)
        XCTAssertTrue(second.stderr.contains("already holds a run"), second.stderr)
    }

    /// One rank a core by default, even where OMP_NUM_THREADS=1 is set, as it often is in job
    /// scripts: GNU nproc answers that variable, and the script ran one rank on every machine.
    func testOneRankACoreWhateverOMPNumThreadsSays() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        try XCTSkipIf(cores < 2, "one core: nothing to tell apart")
        let (script, path) = try checkout()
        var env = Launcher.launchEnvironment(["PATH": path, "OMP_NUM_THREADS": "1"])
        env["MPIVAE_RANKS"] = nil
        let result = try ProcessRunner.run("bash", [script, "--data", "synthetic:n=1000", "--hidden", "48", "--latent", "3",
                                                    "--batch-size", "60", "--max-steps", "2", "--no-eval", "--no-explain",
                                                    "--out", Tool.temporaryDirectory("train.sh ranks") + "/run"],
                                           environment: env, timeout: 120)
        XCTAssertEqual(result.exitCode, 0, result.summary)
        XCTAssertTrue(result.stdout.contains("over \(cores) ranks"), result.stdout)
        // Several ranks on one host: the script picks the sharded optimizer, summed in shared memory.
        XCTAssertTrue(result.stdout.contains("in memory the ranks of this host share"), result.stdout)
    }

    /// MPIVAE_RANKS that is not a rank count is refused in one line before anything starts;
    /// 0 used to become "one rank a slot" in mpirun, the opposite of what it says.
    func testOddRankCountsAreRefusedInOneLine() throws {
        for ranks in ["0", "-1", "abc", "2 3"] {
            let result = try train(["--data", "synthetic:n=1000", "--max-steps", "1", "--no-explain"], ranks: ranks)
            XCTAssertEqual(result.exitCode, 2, "MPIVAE_RANKS=\(ranks): \(result.summary)\n\(result.stdout)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "MPIVAE_RANKS=\(ranks): \(result.stderr)")
            XCTAssertTrue(result.stderr.hasPrefix("error: MPIVAE_RANKS"), result.stderr)
        }
    }
}

/// `Cluster/mpivae.slurm` outside Slurm: the SLURM_* variables it reads are set by hand, and a
/// stand-in `srun` runs its command under mpirun with SLURM_NTASKS ranks.
final class SlurmScriptTests: EndToEndCase {
    func start(_ args: [String], environment: [String: String] = [:]) throws -> (ProcessRunner.Running, submitDirectory: String) {
        let root = Tool.temporaryDirectory("submit dir")
        try FileManager.default.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Cluster/mpivae.slurm").path
        let mpirun = (Launcher.mpirunArguments(ranks: 1).prefix { $0 != "-np" }).joined(separator: " ")
        try """
            #!/usr/bin/env bash
            args=(); for a in "$@"; do case "$a" in --mpi=*|--cpu-bind=*) ;; *) args+=("$a") ;; esac; done
            # The time-limit warning while the batch script checks the world size.
            if [ -n "${WARN_DURING_CHECK:-}" ] && [ "${args[1]}" = info ]; then kill -USR1 "$PPID"; fi
            exec mpirun \(mpirun) -np "$SLURM_NTASKS" "${args[@]}"

            """.write(toFile: root + "/bin/srun", atomically: true, encoding: .utf8)
        chmod(root + "/bin/srun", 0o755)
        let env = Launcher.launchEnvironment([
            "PATH": root + "/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
            "SLURM_NTASKS": "2", "SLURM_JOB_ID": "42", "SLURM_SUBMIT_DIR": root, "BIN": try Launcher.executablePath("mpivae"),
        ].merging(environment) { $1 })
        return (try ProcessRunner.start("bash", [script] + args, environment: env), root)
    }

    /// Like train.sh: the script's Fashion-MNIST data and run directory are defaults, which a
    /// --config file's settings replace.
    func testAConfigFileDecidesTheRun() throws {
        let dir = Tool.temporaryDirectory("slurm config")
        try """
            {"data": "synthetic:n=1000", "hidden": [48], "latent": 3, "batchSize": 60, "epochs": 1, "maxSteps": 20,
             "evaluateTest": false, "explain": false, "out": "\(dir)/from config"}
            """.write(toFile: dir + "/settings.json", atomically: true, encoding: .utf8)
        let (child, _) = try start(["--config", dir + "/settings.json"])
        let result = try ProcessRunner.wait(child, timeout: 120)
        XCTAssertEqual(result.exitCode, 0, result.summary)
        XCTAssertTrue(result.stdout.contains("training synthetic"), result.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/from config/config.json"))
    }

    /// The time-limit warning (SIGUSR1 to the batch script) reaches the ranks: they save and stop,
    /// and the script exits 0 with the job step's status.
    func testTheWarningSignalSavesAndStops() throws {
        let (child, root) = try start(Tool.small.dropFirst() + ["--epochs", "100000", "--no-eval", "--no-explain"])
        let latest = root + "/runs/slurm-42/checkpoints/latest"
        let start = Date()
        while !FileManager.default.fileExists(atPath: latest), Date().timeIntervalSince(start) < 60 { usleep(20_000) }
        kill(child.pid, SIGUSR1)
        let result = try ProcessRunner.wait(child, timeout: 60)
        XCTAssertEqual(result.exitCode, 0, result.summary)
        XCTAssertTrue(result.stdout.contains("stopping on a signal; state saved at step"), result.stdout)
        try Tool.succeed(["inspect", root + "/runs/slurm-42"])
    }

    /// The warning before training has started (a time limit within the --signal margin) used to
    /// end the script on "step_pid: unbound variable"; now it says why it does not start training.
    func testTheWarningBeforeTrainingStartsIsReported() throws {
        let (child, root) = try start(Tool.small.dropFirst() + ["--epochs", "1", "--no-explain"], environment: ["WARN_DURING_CHECK": "1"])
        let result = try ProcessRunner.wait(child, timeout: 60)
        XCTAssertEqual(result.exitCode, 1, result.summary)
        XCTAssertEqual(result.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }.count, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("came before training started"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/runs/slurm-42"))
    }
}
