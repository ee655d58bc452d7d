import ArgumentParser
import Foundation
import Jobs
import Web

/// `reactor-worker web`: the dashboard alone, for a machine that watches (and feeds) a
/// `jobs.db` that workers elsewhere run. Jobs queued here are found by those workers through
/// the database file, as rows from any other program are.
struct WebCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "web",
        abstract: "Serve the dashboard and JSON API for a jobs.db, without running jobs.",
        discussion: """
            The same dashboard `run` serves (docs/api.md). Settings: WEB_ADDRESS (default 127.0.0.1:5001), \
            WEB_TOKEN (required for a non-loopback address), WEB_READ_ONLY=1, WEB_MAX_UPLOAD_MB (default 200).
            Examples:
              reactor-worker web --db /srv/studio/jobs.db
              WEB_TOKEN=$(openssl rand -hex 16) reactor-worker web --web 0.0.0.0:5001
            """)

    @Option(name: .customLong("db"), help: "The jobs database (JOBS_DB, default ./jobs.db).")
    var database: String?

    @Option(name: .customLong("output-dir"), help: "Where job outputs are (OUTPUT_DIR, default ./outputs).")
    var outputDirectory: String?

    @OptionGroup var web: WebOptions

    @Option(name: .customLong("env-file"), help: "A .env file to read (default ./.env).")
    var envFile: String = ".env"

    func run() throws {
        let configuration = Configuration(envFile: envFile)
        let store = configuration.store(flag: database)
        let outputs = configuration.string("OUTPUT_DIR", flag: outputDirectory) ?? "./outputs"
        let log: WorkerLog
        let settings: WebSettings
        do {
            log = try RunCommand.makeLog(configuration)
            guard let chosen = try configuration.webSettings(web, store: store, outputDirectory: outputs) else {
                exitWithError("the dashboard is turned off (--no-web or WEB_ADDRESS=off); nothing to serve")
            }
            settings = chosen
        } catch {
            exitWithError("\(error)")
        }
        ProcessSetup.prepare()
        let url: String
        do {
            url = try WebServer(settings: settings, log: log).start()
        } catch {
            log.flush()
            exitWithError("\(error)", code: 1)
        }
        log.info("Dashboard on \(url) for JOBS_DB=\(store), OUTPUT_DIR=\(settings.outputDirectory)")
        let stop = DispatchSemaphore(value: 0)
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { stop.signal() }
            source.resume()
            sources.append(source)
        }
        withExtendedLifetime(sources) { stop.wait() }
        log.info("reactor-worker web stopped")
        log.flush()
        Foundation.exit(0)
    }
}
