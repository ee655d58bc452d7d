import Foundation
import Jobs
import Reactor

/// A setting that makes no sense; printed as one line naming the setting, and the worker
/// does not start.
struct ConfigurationError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Settings from flags, then the environment, then `.env` in the working directory, then
/// the documented defaults (DESIGN.md "Environment").
struct Configuration {
    /// Every variable visible to the worker: `.env` overlaid by the real environment.
    let values: [String: String]

    /// Providers whose caps and rates may be set as `<PROVIDER>_MAX_CONCURRENT` / `_RATE_PER_MIN`.
    static let providers = ["openai", "leonardo", "bytedance", "bria", "kling", "seedance"]

    init(environment: [String: String] = ProcessInfo.processInfo.environment, envFile: String = ".env") {
        var merged = DotEnv.load(path: envFile)
        for (name, value) in environment { merged[name] = value }
        values = merged
    }

    init(values: [String: String]) { self.values = values }

    func string(_ name: String, flag: String? = nil) -> String? {
        if let flag, !flag.isEmpty { return flag }
        guard let value = values[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    func integer(_ name: String, flag: Int? = nil, default fallback: Int, minimum: Int) throws -> Int {
        if let flag {
            guard flag >= minimum else {
                throw ConfigurationError(message: "\(name) must be a whole number of at least \(minimum), got \(flag)")
            }
            return flag
        }
        guard let text = string(name) else { return fallback }
        guard let value = Int(text), value >= minimum else {
            throw ConfigurationError(message: "\(name) must be a whole number of at least \(minimum), got '\(text)'")
        }
        return value
    }

    func seconds(_ name: String, flag: Double? = nil, default fallback: Double, minimum: Double = 0.001) throws
        -> Double
    {
        if let flag { return flag }
        guard let text = string(name) else { return fallback }
        guard let value = Double(text), value >= minimum, value.isFinite else {
            throw ConfigurationError(
                message: "\(name) must be a number of seconds of at least \(minimum), got '\(text)'")
        }
        return value
    }

    /// The worker's settings, validated. `OUTPUT_DIR` is created if missing and must be writable.
    func workerSettings(flags: RunFlags) throws -> WorkerSettings {
        var settings = WorkerSettings()
        settings.store = store(flag: flags.database)
        settings.outputDirectory =
            URL(fileURLWithPath: string("OUTPUT_DIR", flag: flags.outputDirectory) ?? "./outputs").standardizedFileURL
            .path
        settings.maxConcurrentJobs = try integer(
            "MAX_CONCURRENT_JOBS", flag: flags.maxConcurrentJobs, default: 3, minimum: 1)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        settings.mediaPoolSize = try integer(
            "MEDIA_POOL_SIZE", flag: flags.mediaPoolSize, default: max(cores, 1), minimum: 1)
        settings.fallbackPollSeconds = try seconds("FALLBACK_POLL_SECONDS", flag: flags.pollSeconds, default: 5)
        settings.leaseSeconds = try seconds("LEASE_SECONDS", default: 60, minimum: 1)
        settings.maxInterruptions = try integer("MAX_INTERRUPTIONS", default: 5, minimum: 1)
        settings.shutdownTimeoutSeconds = try seconds("SHUTDOWN_TIMEOUT_SECONDS", default: 60, minimum: 0)
        var timeouts = ["default": try seconds("JOB_TIMEOUT_SECONDS", default: 3600, minimum: 1)]
        for type in JobType.allCases {
            let name = "JOB_TIMEOUT_\(type.rawValue.uppercased())_SECONDS"
            if string(name) != nil { timeouts[type.rawValue] = try seconds(name, default: 3600, minimum: 1) }
        }
        settings.jobTimeoutSeconds = timeouts
        if string("REQUEST_TIMEOUT_SECONDS") != nil {
            settings.requestTimeoutSeconds = try seconds("REQUEST_TIMEOUT_SECONDS", default: 600, minimum: 0.1)
        }
        settings.retryPolicy.baseDelay = try seconds("RETRY_BASE_DELAY_SECONDS", default: 2, minimum: 0)
        settings.retryPolicy.maxDelay = try seconds("RETRY_MAX_DELAY_SECONDS", default: 300, minimum: 0)
        for provider in Self.providers {
            let upper = provider.uppercased()
            if string("\(upper)_MAX_CONCURRENT") != nil {
                settings.providerCaps[provider] = try integer("\(upper)_MAX_CONCURRENT", default: 0, minimum: 1)
            }
            if string("\(upper)_RATE_PER_MIN") != nil {
                settings.providerRatesPerMinute[provider] = try seconds(
                    "\(upper)_RATE_PER_MIN", default: 0, minimum: 0.001)
            }
        }
        settings.prices = try prices()
        settings.budgets = try budgets()
        settings.values = values
        try Self.checkWritableDirectory(settings.outputDirectory, setting: "OUTPUT_DIR")
        if case .sqlite(let path) = settings.store {
            let databaseDirectory = (path as NSString).deletingLastPathComponent
            try Self.checkWritableDirectory(
                databaseDirectory.isEmpty ? "." : databaseDirectory, setting: "JOBS_DB", create: false)
        }
        return settings
    }

    /// Where the jobs live: `--db` (a path or a postgres:// URL), else `JOBS_DATABASE_URL`, else
    /// `JOBS_DB`, else `./jobs.db`.
    func store(flag: String? = nil) -> JobStoreLocation {
        if let flag, !flag.isEmpty { return JobStoreLocation.from(databaseURL: nil, jobsDB: flag) }
        return JobStoreLocation.from(databaseURL: string("JOBS_DATABASE_URL"), jobsDB: string("JOBS_DB"))
    }

    /// The shipped price table, or `PRICES_FILE` in its place.
    func prices() throws -> PriceTable {
        guard let path = string("PRICES_FILE") else { return .shipped }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(message: "PRICES_FILE: cannot read \(path): \(error.localizedDescription)")
        }
        do {
            return try PriceTable.parse(text)
        } catch {
            throw ConfigurationError(message: "PRICES_FILE \(path): \(error.message)")
        }
    }

    /// `DAILY_BUDGET_USD` and `<PROVIDER>_DAILY_BUDGET_USD`, in US dollars per UTC day.
    func budgets() throws -> DailyBudgets {
        func dollars(_ name: String) throws -> Double? {
            guard let text = string(name) else { return nil }
            let digits = text.hasPrefix("$") ? String(text.dropFirst()) : text
            guard let value = Double(digits), value >= 0, value.isFinite else {
                throw ConfigurationError(message: "\(name) must be a number of US dollars, 0 or more, got '\(text)'")
            }
            return value
        }
        var budgets = DailyBudgets(overall: try dollars("DAILY_BUDGET_USD"))
        for provider in Self.providers {
            if let limit = try dollars("\(provider.uppercased())_DAILY_BUDGET_USD") {
                budgets.perProvider[provider] = limit
            }
        }
        return budgets
    }

    /// Secret values to keep out of logs, errors and results.
    var secrets: [String] {
        values.filter { name, _ in
            ["_KEY", "_TOKEN", "_SECRET", "_SECRET_KEY", "_ACCESS_KEY", "PASSWORD"].contains { name.hasSuffix($0) }
        }.map(\.value)
    }

    static func checkWritableDirectory(_ path: String, setting: String, create: Bool = true) throws {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard create else { throw ConfigurationError(message: "\(setting): folder \(path) does not exist") }
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw ConfigurationError(message: "\(setting): cannot create \(path): \(error.localizedDescription)")
            }
        } else if !isDirectory.boolValue {
            throw ConfigurationError(message: "\(setting): \(path) is not a folder")
        }
        guard access(path, W_OK) == 0 else {
            if errno == EROFS {
                throw ConfigurationError(message: "\(setting): folder \(path) is on a read-only filesystem")
            }
            throw ConfigurationError(message: "\(setting): folder \(path) is not writable by this user")
        }
    }
}

/// The command-line overrides of `run`.
struct RunFlags {
    var database: String?
    var outputDirectory: String?
    var maxConcurrentJobs: Int?
    var mediaPoolSize: Int?
    var pollSeconds: Double?
}
