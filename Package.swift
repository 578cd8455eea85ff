// swift-tools-version:5.10
import Foundation
import PackageDescription

// Kernels are compiled -Ounchecked in release: their loops index flat buffers whose bounds the
// callers establish once per batch, and the checks would block vectorization.
// They are also compiled for the build machine's CPU (AVX2/AVX-512 instead of baseline SSE2): the
// elementwise passes and Adam run 2-4x faster. For a binary that must run on other CPUs, build with
// MPIVAE_TARGET_CPU set to an older target, e.g. MPIVAE_TARGET_CPU=x86-64 (or haswell).
let targetCPU = ProcessInfo.processInfo.environment["MPIVAE_TARGET_CPU"] ?? "native"
let kernelFlags: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-target-cpu", targetCPU], .when(configuration: .release)),
]

// The MPI wrapper's 16-bit gradient conversions run on every element of every step: built for the
// machine's vectors too, but with the checks on (it is not a kernel module).
let vectorFlags: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", targetCPU], .when(configuration: .release)),
]

let package = Package(
    name: "mpivae",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "mpivae", targets: ["mpivae"]),
        .library(name: "MPI", targets: ["MPI"]),
        .library(name: "SafeTensors", targets: ["SafeTensors"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        .target(name: "Basics"),
        .target(name: "MPI", dependencies: ["CMPI", "Basics"], swiftSettings: vectorFlags),
        // What memory a process has left, and input files that are regular files.
        .target(name: "SystemMemory"),
        // Flushes subnormal floats from before OpenBLAS starts its threads (see its source).
        .target(name: "CFloatEnvironment"),
        .target(name: "Linalg", dependencies: ["CBLAS", "CFloatEnvironment", "Basics"], swiftSettings: kernelFlags),
        // Not "Data": a module of that name would shadow Foundation.Data in every importer.
        .target(name: "Datasets", dependencies: ["CZlib", "SystemMemory", "Basics"]),
        .target(name: "VAE", dependencies: ["Linalg", "Basics"], swiftSettings: kernelFlags),
        .target(name: "SafeTensors", dependencies: ["SystemMemory"]),
        .target(name: "Training", dependencies: ["VAE", "Datasets", "SafeTensors", "MPI", "Linalg", "SystemMemory"]),
        .target(name: "Explain", dependencies: ["VAE", "Datasets", "MPI", "Linalg", "CZlib", "SystemMemory"]),
        .executableTarget(
            name: "mpivae",
            dependencies: [
                "Training", "Explain", "VAE", "Datasets", "SafeTensors", "MPI", "Linalg", "SystemMemory",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // Driven by the multi-rank tests: exercises every collective under mpirun and prints results.
        .executableTarget(name: "mpivae-mpicheck", dependencies: ["MPI"]),

        // Launching built tools (alone or under mpirun) with a deadline, for the tests below.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "MPITests", dependencies: ["MPI", "TestSupport"]),
        .testTarget(name: "LinalgTests", dependencies: ["Linalg"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets"]),
        .testTarget(name: "VAETests", dependencies: ["VAE", "Linalg"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "VAE", "Datasets", "SafeTensors", "MPI"]),
        .testTarget(name: "ExplainTests", dependencies: ["Explain", "VAE", "Datasets"], exclude: ["check_report.sh"]),
        // Runs the built executables, under mpirun where the test needs several ranks.
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport", "SafeTensors", "Datasets"]),
    ]
)
