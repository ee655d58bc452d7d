// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "reactor-worker",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "reactor-worker", targets: ["Main"]),
        .executable(name: "mock-providers", targets: ["MockProviders"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // System libraries. libev ships no pkg-config file on Debian, so its module map links it directly.
        .systemLibrary(
            name: "CLibEv",
            providers: [.apt(["libev-dev"]), .brew(["libev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"]), .brew(["curl"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]
        ),
        // The PostgreSQL client library; libpq.pc adds Debian's /usr/include/postgresql.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]
        ),
        // glibc's posix_spawn extensions (chdir, closefrom) that Swift's Glibc module hides.
        .systemLibrary(name: "CSpawn"),
        .target(
            name: "Reactor",
            dependencies: ["CLibEv", "CCurl", "CSQLite", "CSpawn", "CLibPQ"]
        ),
        // JSON values, the parser and the writer, shared by the worker and the mock providers.
        .target(name: "JSON"),
        .target(
            name: "Jobs",
            dependencies: [
                "JSON",
                "Reactor",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The dashboard and JSON API, on Hummingbird's threads; it reaches the worker only through
        // jobs.db and a wake-up closure. Its HTML, CSS and JavaScript are compiled into the binary.
        .target(
            name: "Web",
            dependencies: [
                "JSON",
                "Jobs",
                "Reactor",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            resources: [
                .embedInCode("Assets/index.html"), .embedInCode("Assets/job.html"), .embedInCode("Assets/login.html"),
                .embedInCode("Assets/app.css"), .embedInCode("Assets/common.js"), .embedInCode("Assets/dashboard.js"),
                .embedInCode("Assets/queue.js"), .embedInCode("Assets/chart.js"), .embedInCode("Assets/job.js"),
            ]
        ),
        .executableTarget(
            name: "Main",
            dependencies: [
                "JSON",
                "Jobs",
                "Reactor",
                "Web",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // Packed relative relocations (DT_RELR, glibc 2.36+): the loader reads a table of
            // 8.5 KB instead of 980 KB at every start, and that table no longer stays resident in
            // every worker. Gold, swiftc's default linker here, cannot write them; lld ships with
            // the toolchain.
            linkerSettings: [
                .unsafeFlags(
                    ["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"], .when(platforms: [.linux]))
            ]
        ),
        .executableTarget(
            name: "MockProviders",
            dependencies: [
                "JSON",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "TestSupport",
            dependencies: ["Reactor"],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor", "TestSupport"]),
        .testTarget(name: "JobsTests", dependencies: ["JSON", "Jobs", "Reactor", "TestSupport"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["TestSupport", "JSON", "Jobs", "Reactor", "Main", "MockProviders"]
        ),
        .testTarget(name: "MockProvidersTests", dependencies: ["Reactor"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(
            name: "WebTests", dependencies: ["TestSupport", "JSON", "Jobs", "Reactor", "Web", "Main", "MockProviders"]),
    ]
)
