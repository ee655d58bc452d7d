import ArgumentParser
import Foundation
import Jobs
import Reactor
import Web

/// `reactor-worker run`: the daemon.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the worker: claim queued jobs and run up to MAX_CONCURRENT_JOBS at once.",
        discussion: """
            SIGTERM or Ctrl-C stops claiming and lets active jobs finish (up to SHUTDOWN_TIMEOUT_SECONDS);
            a second signal returns unfinished jobs to the queue at once. Exit status 0 after a clean stop.
            The dashboard is served on WEB_ADDRESS (default 127.0.0.1:5001; --no-web turns it off).
            Example:
              MAX_CONCURRENT_JOBS=50 OPENAI_API_KEY=sk-… reactor-worker run --drain
            """)

    @Option(name: .customLong("db"), help: "The jobs database (JOBS_DB, default ./jobs.db).")
    var database: String?

    @Option(name: .customLong("output-dir"), help: "Where job outputs go (OUTPUT_DIR, default ./outputs).")
    var outputDirectory: String?

    @Option(name: .customLong("max-concurrent-jobs"), help: "Jobs at once (MAX_CONCURRENT_JOBS, default 3).")
    var maxConcurrentJobs: Int?

    @Option(name: .customLong("media-pool-size"), help: "ffmpeg processes at once (MEDIA_POOL_SIZE, default: cores).")
    var mediaPoolSize: Int?

    @Option(
        name: .customLong("poll-interval"),
        help: "Seconds between fallback polls of the table (FALLBACK_POLL_SECONDS, default 5).")
    var pollInterval: Double?

    @Option(name: .customLong("env-file"), help: "A .env file to read (default ./.env).")
    var envFile: String = ".env"

    @Flag(help: "Exit once nothing is queued or active (for batches and tests).")
    var drain = false

    @OptionGroup var web: WebOptions

    func run() throws {
        let configuration = Configuration(envFile: envFile)
        let flags = RunFlags(
            database: database, outputDirectory: outputDirectory, maxConcurrentJobs: maxConcurrentJobs,
            mediaPoolSize: mediaPoolSize, pollSeconds: pollInterval)
        let settings: WorkerSettings
        let log: WorkerLog
        let webSettings: WebSettings?
        do {
            settings = try configuration.workerSettings(flags: flags)
            log = try Self.makeLog(configuration)
            webSettings = try configuration.webSettings(
                web, store: settings.store, outputDirectory: settings.outputDirectory)
        } catch {
            exitWithError("\(error)")
        }
        ProcessSetup.prepare()
        let worker: Worker
        do {
            worker = try Worker(settings: settings, log: log, drain: drain, web: webSettings)
        } catch {
            log.flush()  // what the worker logged before it gave up, ahead of the error
            exitWithError(Self.describeDatabaseError(error, store: settings.store), code: 1)
        }
        worker.run()
        log.flush()  // lines are written by the log's own queue; exit would drop the last ones
        Foundation.exit(0)
    }

    /// One line saying what is wrong with the job store and what to check.
    static func describeDatabaseError(_ error: any Error, store: JobStoreLocation) -> String {
        guard case .sqlite(let path) = store else {
            // PGError's words already name the server (never its password) and what failed.
            return "JOBS_DATABASE_URL \(store): \(error)"
        }
        guard let error = error as? SQLiteError else { return "JOBS_DB \(path): \(error)" }
        switch error.code {
        case 8:  // SQLITE_READONLY
            return
                "JOBS_DB \(path) is read-only (\(error.message)); the worker must write it: check the file, its folder and the filesystem"
        case 13:  // SQLITE_FULL
            return "JOBS_DB \(path): the disk is full (\(error.message)); free some space and start again"
        case 14:  // SQLITE_CANTOPEN
            return "JOBS_DB \(path) cannot be opened (\(error.message)); check that its folder exists and is writable"
        case 26:  // SQLITE_NOTADB
            return "JOBS_DB \(path) is not an SQLite database (\(error.message))"
        default:
            return "JOBS_DB \(path): \(error.message)"
        }
    }

    static func makeLog(_ configuration: Configuration) throws -> WorkerLog {
        let levelName = configuration.string("LOG_LEVEL") ?? "info"
        guard let level = WorkerLog.Level(name: levelName) else {
            throw ConfigurationError(message: "LOG_LEVEL must be debug, info, warning or error, got '\(levelName)'")
        }
        let formatName = configuration.string("LOG_FORMAT") ?? "text"
        guard let format = WorkerLog.Format(rawValue: formatName.lowercased()) else {
            throw ConfigurationError(message: "LOG_FORMAT must be text or json, got '\(formatName)'")
        }
        do {
            return try WorkerLog(
                path: configuration.string("LOG_FILE"), level: level, format: format,
                redactor: SecretRedactor(secrets: configuration.secrets))
        } catch {
            throw ConfigurationError(message: "LOG_FILE: \(error)")
        }
    }
}
