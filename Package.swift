// swift-tools-version:6.0
import PackageDescription

// One direction of dependency, bottom to top:
// CNative/C* -> Tensor -> NN -> Models -> Distill -> Training -> Tables, Bench -> scalekd
// Training also links OpenMPI (CMPI) for data-parallel runs under mpirun.
// Datasets, Store and Plot sit beside NN and only need Tensor and their C libraries (Datasets: zlib,
// libpng and libjpeg-turbo for image folders);
// Models also reads and writes timm checkpoints through Store (TimmNames.swift).
// Each module folder has a README saying what it owns and what it may import.
// Dense (dense-prediction metrics and canvases) sits on Datasets and Tensor and nothing above them.
// DenseTransfer (detection and segmentation heads trained on canvases over a trained backbone)
// sits on Training and Dense; Tables uses it for Tables 5, 6 and 11.
let package = Package(
    name: "ScaleKD",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "scalekd", targets: ["scalekd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // OpenBLAS is loaded with dlopen after the CPU kernel is chosen (see blas_loader.c).
        .target(name: "CNative", exclude: ["README.md"], linkerSettings: [.linkedLibrary("dl")]),
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3f"),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5"),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng"),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib"),
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg"),
        // Data-parallel training (Training/DataParallel.swift): Debian's OpenMPI.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c"),
        // oneDNN (libdnnl-dev ships no pkg-config file: the module map links it by name).
        .systemLibrary(name: "CDNNL"),

        .target(name: "Tensor", dependencies: ["CNative", "CFFTW", "CDNNL"], exclude: ["README.md"]),
        .target(name: "NN", dependencies: ["Tensor"], exclude: ["README.md"]),
        .target(name: "Datasets", dependencies: ["Tensor", "CZlib", "CPNG", "CTurboJPEG"], exclude: ["README.md"]),
        .target(name: "Store", dependencies: ["CHDF5", "CZlib"], exclude: ["README.md"]),
        .target(name: "Plot", dependencies: ["CPNG"], exclude: ["README.md"]),
        .target(name: "Dense", dependencies: ["Datasets", "Tensor"], exclude: ["README.md"]),
        .target(name: "Models", dependencies: ["NN", "Store"], exclude: ["README.md"]),
        .target(name: "Distill", dependencies: ["Models"], exclude: ["README.md"]),
        .target(name: "Training", dependencies: [
            "Distill", "Datasets", "Store", "Plot", "CMPI",
            .product(name: "Yams", package: "Yams"),
        ], exclude: ["README.md"]),
        .target(name: "DenseTransfer", dependencies: ["Training", "Dense"], exclude: ["README.md"]),
        .target(name: "Tables", dependencies: [
            "Training", "DenseTransfer",
            .product(name: "Yams", package: "Yams"),
        ], exclude: ["README.md"]),
        .target(name: "Bench", dependencies: ["Training"], exclude: ["README.md"]),
        .executableTarget(name: "scalekd", dependencies: [
            "Tables", "Bench",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], exclude: ["README.md"]),

        // Shared test helpers (gradient checks, fixtures); only test targets depend on it.
        .target(name: "TestSupport", dependencies: ["Tensor", "Store", "Datasets"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "TestSupport"]),
        .testTarget(name: "DistillTests", dependencies: ["Distill", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Store", "TestSupport"]),
        .testTarget(name: "TablesTests", dependencies: ["Tables", "TestSupport"]),
        .testTarget(name: "BenchTests", dependencies: ["Bench"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "TestSupport"]),
        .testTarget(name: "StoreTests", dependencies: ["Store"], exclude: ["Fixtures"]),
        .testTarget(name: "DenseTests", dependencies: ["Dense"], exclude: ["Fixtures"]),
        .testTarget(name: "DenseTransferTests", dependencies: ["DenseTransfer", "TestSupport"]),
        .testTarget(name: "PlotTests", dependencies: ["Plot"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Store", "TestSupport"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v5]
)
