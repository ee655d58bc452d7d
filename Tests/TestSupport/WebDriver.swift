import Foundation

/// A headless Chromium driven through Debian's `chromedriver` over the W3C WebDriver HTTP API,
/// for tests of the dashboard in a real browser. Offline: no browser download, no Selenium.
///
/// `start` launches `chromedriver --port=0` (it prints the port it took) and opens a session;
/// `quit` ends the session (closing Chromium) and stops chromedriver. Call `quit` from
/// `tearDown` so a failing test leaves no browser behind; `deinit` does it too.
public final class WebDriver {
    /// One element, by the id the driver gave it.
    public struct Element {
        public let id: String
        /// How the element is passed to `execute` as an argument.
        public var argument: [String: String] { [WebDriver.elementKey: id] }
    }

    static let elementKey = "element-6066-11e4-a52e-4f735466cecf"

    public let screenshotDirectory: String
    private let profileDirectory: String
    private let driver: ChildProcess
    private var client = RawHTTP(port: 0)
    private var session: String?
    private var shots = 0

    /// Starts chromedriver on a port of its choosing and returns it with that port. Chromium
    /// 156's chromedriver sometimes exits at once with "IPv4 port not available" for `--port=0`
    /// (it picks a port, then binds it, and another process can take it in between): it is
    /// started again, up to five times.
    private static func startDriver(outputPrefix: String) throws -> (ChildProcess, Int) {
        var output = ""
        for attempt in 1...5 {
            let driver = try ChildProcess(
                executable: "/usr/bin/chromedriver", arguments: ["--port=0"], outputPrefix: outputPrefix + "-\(attempt)"
            )
            let port = driver.announcedPort(#"started successfully on port (\d+)"#)
            if let port { return (driver, port) }
            output = driver.stdout + " " + driver.stderr
            driver.stop()
            guard output.contains("port not available") else { break }
        }
        throw TestSupportError("chromedriver did not start: \(output)")
    }

    /// Starts chromedriver and a headless Chromium (`/usr/bin/chromium`), its profile in
    /// `profileDirectory`, screenshots kept in `screenshotDirectory` (created, printed).
    public init(profileDirectory: String, screenshotDirectory: String, width: Int = 1366, height: Int = 1000) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"),
            FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
        else {
            throw TestSupportError(
                "the browser test needs Debian's chromium and chromium-driver (scripts/install-deps installs them)")
        }
        self.screenshotDirectory = screenshotDirectory
        self.profileDirectory = profileDirectory
        try? FileManager.default.removeItem(atPath: screenshotDirectory)
        try FileManager.default.createDirectory(atPath: screenshotDirectory, withIntermediateDirectories: true)
        print("Browser screenshots: \(screenshotDirectory)")
        let (driver, port) = try Self.startDriver(outputPrefix: profileDirectory + "-chromedriver")
        self.driver = driver
        client = RawHTTP(port: port)
        let options: [String: Any] = [
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--window-size=\(width),\(height)", "--autoplay-policy=no-user-gesture-required", "--mute-audio",
                "--user-data-dir=\(profileDirectory)", "--disable-background-networking",
            ],
        ]
        let answer = try command(
            "POST", "/session",
            ["capabilities": ["alwaysMatch": ["browserName": "chrome", "goog:chromeOptions": options]]])
        guard let id = (answer as? [String: Any])?["sessionId"] as? String else {
            quit()
            throw TestSupportError("chromedriver gave no session: \(answer ?? "nothing")")
        }
        session = id
    }

    deinit { quit() }

    /// Ends the session (Chromium exits) and stops chromedriver. Safe to call twice.
    public func quit() {
        if let session {
            _ = try? command("DELETE", "/session/\(session)", nil, timeout: 15)
            self.session = nil
        }
        driver.stop()
        stopBrowser()
    }

    /// Ends what is left of this session's Chromium (chromedriver does not end it when it is
    /// stopped itself): the processes whose command line names this session's own profile folder.
    private func stopBrowser() {
        let marker = "--user-data-dir=" + profileDirectory
        let ids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init)
        let browser = ids.filter { id in
            guard let line = FileManager.default.contents(atPath: "/proc/\(id)/cmdline") else { return false }
            return String(decoding: line, as: UTF8.self).split(separator: "\0").contains { $0 == marker }
        }
        for id in browser { kill(id, SIGTERM) }
        Wait.until(timeout: 5) { browser.allSatisfy { kill($0, 0) != 0 } }
        for id in browser { kill(id, SIGKILL) }
    }

    public func open(_ url: String) throws {
        _ = try sessionCommand("POST", "/url", ["url": url])
    }

    /// The first element matching the CSS selector, or nil.
    public func find(_ css: String) throws -> Element? {
        try findAll(css).first
    }

    public func findAll(_ css: String) throws -> [Element] {
        let answer = try sessionCommand("POST", "/elements", ["using": "css selector", "value": css])
        return (answer as? [[String: Any]] ?? []).compactMap { ($0[Self.elementKey] as? String).map(Element.init) }
    }

    /// The element, failing the wait when it does not appear within `timeout`.
    public func element(_ css: String, timeout: Double = 10) throws -> Element {
        var found: Element?
        try wait("an element matching \(css)", timeout: timeout) {
            found = try find(css)
            return found != nil
        }
        return found!
    }

    public func click(_ element: Element) throws {
        _ = try sessionCommand("POST", "/element/\(element.id)/click", [:])
    }

    public func clear(_ element: Element) throws {
        _ = try sessionCommand("POST", "/element/\(element.id)/clear", [:])
    }

    /// Types `text` into the element, as keystrokes (a file input takes a path this way).
    public func type(_ text: String, into element: Element) throws {
        _ = try sessionCommand("POST", "/element/\(element.id)/value", ["text": text])
    }

    public func text(_ element: Element) throws -> String {
        (try sessionCommand("GET", "/element/\(element.id)/text", nil) as? String) ?? ""
    }

    /// Runs JavaScript in the page (`arguments[0]` … are `arguments`) and returns its value.
    @discardableResult
    public func execute(_ script: String, _ arguments: [Any] = []) throws -> Any? {
        try sessionCommand("POST", "/execute/sync", ["script": script, "args": arguments])
    }

    /// Resizes the browser window (e.g. to a phone's 390 × 844).
    public func resize(width: Int, height: Int) throws {
        _ = try sessionCommand("POST", "/window/rect", ["width": width, "height": height])
    }

    /// Makes the page see `prefers-color-scheme: dark` (or light), through Chromium's DevTools
    /// protocol, which chromedriver passes on.
    public func prefersColorScheme(_ scheme: String) throws {
        _ = try sessionCommand(
            "POST", "/goog/cdp/execute",
            [
                "cmd": "Emulation.setEmulatedMedia",
                "params": ["features": [["name": "prefers-color-scheme", "value": scheme]]],
            ])
    }

    /// Saves a PNG of the window as `NN-name.png` in the screenshot folder; returns its path.
    @discardableResult
    public func screenshot(_ name: String) throws -> String {
        guard let encoded = try sessionCommand("GET", "/screenshot", nil) as? String,
            let data = Data(base64Encoded: encoded)
        else { throw TestSupportError("chromedriver returned no screenshot") }
        shots += 1
        let path = screenshotDirectory + "/" + String(format: "%02d-", shots) + name + ".png"
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Re-checks `condition` (which may talk to the browser) until it holds or `timeout` passes.
    public func wait(_ what: String, timeout: Double, interval: Double = 0.1, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var lastError: (any Error)?
        while Date() < deadline {
            do {
                if try condition() { return }
            } catch {
                lastError = error
            }
            Wait.pause(seconds: interval)
        }
        _ = try? screenshot("timeout")
        throw TestSupportError(
            "timed out after \(timeout) s waiting for \(what)\(lastError.map { " (last error: \($0))" } ?? "")")
    }

    private func sessionCommand(_ method: String, _ path: String, _ body: [String: Any]?) throws -> Any? {
        guard let session else { throw TestSupportError("the browser session has ended") }
        return try command(method, "/session/\(session)" + path, body)
    }

    /// One WebDriver command; its `value`, or an error carrying the driver's message.
    private func command(_ method: String, _ path: String, _ body: [String: Any]?, timeout: Double = 60) throws -> Any?
    {
        // Not URLSession: chromedriver writes `Content-Length:918` without a space, which it refuses.
        let request = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        let reply = try client.send(
            method, path, headers: request == nil ? [:] : ["Content-Type": "application/json"], body: request,
            timeout: timeout)
        let status = reply.status
        let data = reply.body
        let json = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? [String: Any]
        let value = json?["value"]
        if status >= 400 {
            let detail = (value as? [String: Any]).map { "\($0["error"] ?? ""): \($0["message"] ?? "")" } ?? ""
            throw TestSupportError("WebDriver \(method) \(path) answered \(status): \(detail.prefix(500))")
        }
        return value is NSNull ? nil : value
    }
}
