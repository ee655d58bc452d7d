import Foundation
import Reactor
import Synchronization

/// A throwaway PostgreSQL server, one per test process, in a fresh temp folder.
///
/// Built from the Debian packages' binaries (`/usr/lib/postgresql/15/bin`, or `PG_BINDIR`):
/// `initdb` as the `postgres` user when the tests run as root (initdb refuses root), tuned for
/// speed (fsync, synchronous_commit and full_page_writes off), on 127.0.0.1 and a free port
/// other than 5432, with its socket in the temp folder. Authentication: the local socket and
/// TCP trust every role except `worker`, which must give its password over TCP
/// (scram-sha-256): the wrong-password test needs one role that checks.
///
/// Never left behind: `atexit` stops it and removes the folder; SIGINT/SIGTERM stop it
/// before the process dies; and a watchdog shell (in its own session) does both once this
/// process is gone, even after a SIGKILL.
public final class PostgresServer: Sendable {
    public enum StopMode: String, Sendable {
        case smart, fast, immediate
    }

    /// The role with a password (scram-sha-256 over TCP), for authentication tests.
    public static let passwordUser = "worker"
    public static let passwordUserPassword = "worker-secret"

    public let folder: String
    public let port: Int
    private let binaries: String
    private let databaseCount = Atomic<Int>(0)

    /// The server of this test process, started on first use. Throws, with an install hint,
    /// when the server binaries are missing: a Postgres test fails, it is never skipped.
    public static var shared: PostgresServer {
        get throws {
            let started = sharedServer.withLock { server in
                if server == nil { server = Result { try PostgresServer() } }
                return server!
            }
            return try started.get()
        }
    }

    private static let sharedServer = Mutex<Result<PostgresServer, any Error>?>(nil)

    private init() throws {
        binaries = ProcessInfo.processInfo.environment["PG_BINDIR"] ?? "/usr/lib/postgresql/15/bin"
        for tool in ["initdb", "pg_ctl", "postgres"]
        where !FileManager.default.isExecutableFile(atPath: "\(binaries)/\(tool)") {
            throw TestSupportError(
                "PostgreSQL server binaries not found: no \(binaries)/\(tool). Run scripts/install-deps (it installs "
                    + "postgresql-15 and libpq-dev), or set PG_BINDIR to the folder that holds initdb and pg_ctl.")
        }
        var template = Array("/tmp/reactor-pg-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw TestSupportError("mkdtemp: \(SystemErrorText.of())") }
        folder = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        Self.cleanup.register(folder: folder)
        port = try Self.freePort()
        if geteuid() == 0 {
            guard let account = getpwnam("postgres") else {
                throw TestSupportError(
                    "running as root, but there is no `postgres` user for initdb (install postgresql-15)")
            }
            chown(folder, account.pointee.pw_uid, account.pointee.pw_gid)
        }
        try startWatchdog()
        try run(
            "initdb", "-D", dataFolder, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        try configure()
        try start()
        let admin = try PGBlockingConnection(url: url(database: "postgres"))
        defer { admin.close() }
        try admin.execute(
            "CREATE ROLE \(Self.passwordUser) LOGIN CREATEDB PASSWORD '\(Self.passwordUserPassword)'")
    }

    private var dataFolder: String { folder + "/data" }

    /// A `postgres://` URL for `database` over TCP; the superuser `postgres` needs no password.
    public func url(database: String, user: String = "postgres", password: String? = nil) -> String {
        func encoded(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
        }
        let credentials = encoded(user) + (password.map { ":" + encoded($0) } ?? "")
        return "postgres://\(credentials)@127.0.0.1:\(port)/\(database)"
    }

    /// Creates a fresh, empty database (its name made from `name` and a counter, so every call
    /// gets a new one) and returns its URL for the superuser.
    public func makeDatabase(name: String) throws -> String {
        let cleaned = String(name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.prefix(40))
        let database = "\(cleaned)_\(databaseCount.add(1, ordering: .relaxed).newValue)"
        let admin = try PGBlockingConnection(url: url(database: "postgres"))
        defer { admin.close() }
        try admin.execute("CREATE DATABASE \(PGStatement.quotedIdentifier(database))")
        return url(database: database)
    }

    /// Starts the server (again) on the same port and waits until it accepts connections.
    public func start() throws {
        try run(
            "pg_ctl", "-D", dataFolder, "-l", folder + "/server.log", "-o", "-p \(port)", "-w", "-t", "60",
            "start")
        Self.cleanup.serverStarted(pid: postmasterPID())
    }

    /// Stops the server and waits until it is gone. `.immediate` kills every session at once,
    /// as a crash would (recovery runs at the next start).
    public func stop(mode: StopMode = .fast) throws {
        try run("pg_ctl", "-D", dataFolder, "-m", mode.rawValue, "-w", "-t", "60", "stop")
        Self.cleanup.serverStarted(pid: 0)
    }

    /// True while a postmaster runs on the data folder (its pid file exists).
    public var isRunning: Bool { postmasterPID() > 0 }

    public func restart() throws {
        try stop()
        try start()
    }

    // MARK: Setting up

    private func configure() throws {
        let settings = """

            listen_addresses = '127.0.0.1'
            unix_socket_directories = '\(folder)'
            max_connections = 300
            shared_buffers = 32MB
            fsync = off
            synchronous_commit = off
            full_page_writes = off

            """
        let configuration = try FileHandle(forWritingTo: URL(fileURLWithPath: dataFolder + "/postgresql.conf"))
        defer { try? configuration.close() }
        try configuration.seekToEnd()
        try configuration.write(contentsOf: Data(settings.utf8))
        let access = """
            local all all trust
            host all \(Self.passwordUser) 127.0.0.1/32 scram-sha-256
            host all all 127.0.0.1/32 trust

            """
        // Overwriting keeps the file's owner (postgres), which the server checks.
        try Data(access.utf8).write(to: URL(fileURLWithPath: dataFolder + "/pg_hba.conf"))
    }

    /// Stops the server and removes the folder once the test process is gone, however it died.
    private func startWatchdog() throws {
        let script = """
            while kill -0 "$1" 2>/dev/null; do sleep 1; done
            pidfile="$2/data/postmaster.pid"
            [ -f "$pidfile" ] && kill -QUIT "$(head -n 1 "$pidfile")" 2>/dev/null
            for _ in 1 2 3 4 5 6 7 8 9 10; do [ -f "$pidfile" ] || break; sleep 1; done
            rm -rf "$2"
            """
        // setsid: a Ctrl-C to the test's process group must not end the watchdog with it.
        _ = try SpawnedProcess(
            executable: "/usr/bin/setsid", arguments: ["/bin/sh", "-c", script, "watchdog", "\(getpid())", folder])
    }

    /// Runs a server tool, as `postgres` when we are root; throws with its output on failure.
    private func run(_ tool: String, _ arguments: String...) throws {
        let path = "\(binaries)/\(tool)"
        let asRoot = geteuid() == 0
        let output = "\(folder)/\(tool).out"
        let child = try SpawnedProcess(
            executable: asRoot ? "/usr/sbin/runuser" : path,
            arguments: asRoot ? ["-u", "postgres", "--", path] + arguments : arguments,
            directory: folder, stdout: .file(output), stderr: .file(output))
        guard child.wait() == .exited(0) else {
            let said = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            let log = (try? String(contentsOfFile: folder + "/server.log", encoding: .utf8)) ?? ""
            throw TestSupportError("\(tool) \(arguments.joined(separator: " ")) failed: \(said)\(log.suffix(2000))")
        }
    }

    private func postmasterPID() -> Int32 {
        let text = (try? String(contentsOfFile: dataFolder + "/postmaster.pid", encoding: .utf8)) ?? ""
        return Int32(text.split(separator: "\n").first ?? "") ?? 0
    }

    /// A TCP port nobody listens on now (the kernel's pick), never 5432.
    private static func freePort() throws -> Int {
        for _ in 0..<10 {
            let socket = try LoopbackSocket(listening: false)
            socket.close()
            if socket.port != 5432 { return socket.port }
        }
        throw TestSupportError("the kernel keeps offering port 5432 on 127.0.0.1")
    }

    private static let cleanup = PostgresCleanup()
}

/// The postmaster to stop on the way out, readable from a signal handler (lock-free).
private let postmasterToStop = Atomic<Int32>(0)
/// The folder to remove at exit.
private let folderToRemove = Mutex<String?>(nil)

/// The exit paths of the shared server. `atexit` stops it (SIGQUIT: an immediate shutdown)
/// and removes its folder; SIGINT and SIGTERM stop it and then end the process as they
/// would have, leaving the folder to the watchdog, since a signal handler may do little.
private final class PostgresCleanup: Sendable {
    func register(folder: String) {
        folderToRemove.withLock { $0 = folder }
        atexit { PostgresCleanup.atExit() }
        for number in [SIGINT, SIGTERM] {
            signal(number) { number in
                let pid = postmasterToStop.load(ordering: .relaxed)
                if pid > 0 { kill(pid, SIGQUIT) }
                signal(number, SIG_DFL)
                raise(number)
            }
        }
    }

    func serverStarted(pid: Int32) { postmasterToStop.store(pid, ordering: .relaxed) }

    private static func atExit() {
        guard let folder = folderToRemove.withLock({ $0 }) else { return }
        let pid = postmasterToStop.load(ordering: .relaxed)
        if pid > 0 && kill(pid, SIGQUIT) == 0 {
            // The postmaster removes its pid file last thing; the folder must outlive it.
            Wait.until(timeout: 10) { !FileManager.default.fileExists(atPath: folder + "/data/postmaster.pid") }
        }
        try? FileManager.default.removeItem(atPath: folder)
    }
}

/// A TCP socket on 127.0.0.1 with a port the kernel picked. Closed at once, its port is one
/// nobody listens on (a "connection refused" target); left listening, it accepts nobody, so a
/// client's connect succeeds and then hears nothing (a "timed out" target).
public final class LoopbackSocket: Sendable {
    public let port: Int
    private let fd: Int32

    public init(listening: Bool) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ready = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && (!listening || listen(fd, 8) == 0)
                    && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard fd >= 0, ready else {
            let reason = SystemErrorText.of()
            if fd >= 0 { Glibc.close(fd) }
            throw TestSupportError("cannot bind a socket on 127.0.0.1: \(reason)")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    public func close() { Glibc.close(fd) }
}
