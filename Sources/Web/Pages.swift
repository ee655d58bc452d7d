import Crypto
import Foundation
import Hummingbird
import JSON

/// The dashboard's HTML, CSS and JavaScript: plain files in `Assets/`, compiled into the
/// binary (SwiftPM `embedInCode`), so it works offline with no CDN and no build step.
///
/// A page is its file with one `<!--DATA-->` marker replaced by JSON the script reads at once:
/// the settings (CSRF token, read-only, the demo notice) and the first data (the jobs page, or
/// the job), so a page shows its content in one round trip and the list page's time includes
/// its query (what bench/web.py measures).
struct Pages: Sendable {
    struct Asset: Sendable {
        let body: ByteBuffer
        let contentType: String
        let etag: String
    }

    private let assets: [String: Asset]
    private let templates: [String: (head: ByteBuffer, tail: ByteBuffer)]

    /// What a script may be told about the server (never the token).
    let settings: JSONValue

    static let contentSecurityPolicy =
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; script-src 'self'; "
        + "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    init(settings: JSONValue) {
        self.settings = settings
        var assets: [String: Asset] = [:]
        let files: [(String, [UInt8], String)] = [
            ("app.css", PackageResources.app_css, "text/css; charset=utf-8"),
            ("common.js", PackageResources.common_js, "text/javascript; charset=utf-8"),
            ("dashboard.js", PackageResources.dashboard_js, "text/javascript; charset=utf-8"),
            ("queue.js", PackageResources.queue_js, "text/javascript; charset=utf-8"),
            ("chart.js", PackageResources.chart_js, "text/javascript; charset=utf-8"),
            ("job.js", PackageResources.job_js, "text/javascript; charset=utf-8"),
        ]
        for (name, bytes, type) in files {
            let digest = SHA256.hash(data: bytes).prefix(8).map { String(format: "%02x", $0) }.joined()
            assets[name] = Asset(body: ByteBuffer(bytes: bytes), contentType: type, etag: "\"\(digest)\"")
        }
        self.assets = assets
        var templates: [String: (ByteBuffer, ByteBuffer)] = [:]
        for (name, bytes) in [
            ("index", PackageResources.index_html), ("job", PackageResources.job_html),
            ("login", PackageResources.login_html),
        ] {
            let text = String(decoding: bytes, as: UTF8.self)
            let parts = text.components(separatedBy: "<!--DATA-->")
            precondition(parts.count == 2, "Assets/\(name).html must hold one <!--DATA--> marker")
            templates[name] = (ByteBuffer(string: parts[0]), ByteBuffer(string: parts[1]))
        }
        self.templates = templates
    }

    /// `/assets/NAME`, revalidated by ETag (the bytes change only with the binary).
    func asset(_ name: String, ifNoneMatch: String?) throws -> Response {
        guard let asset = assets[name] else { throw APIError.notFound("no asset \(name)") }
        var headers: HTTPFields = [.contentType: asset.contentType, .eTag: asset.etag, .cacheControl: "no-cache"]
        if ifNoneMatch == asset.etag { return Response(status: .notModified, headers: headers) }
        headers[.contentLength] = String(asset.body.readableBytes)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: asset.body))
    }

    /// The page `name` with its data: `{"settings": …, "data": …}`.
    func page(_ name: String, data: JSONValue = .null, status: HTTPResponse.Status = .ok) -> Response {
        guard let template = templates[name] else { return Response(status: .notFound) }
        var body = template.head
        body.writeString("<script type=\"application/json\" id=\"page-data\">")
        body.writeString(Self.scriptSafe(["settings": settings, "data": data]))
        body.writeString("</script>")
        var tail = template.tail
        body.writeBuffer(&tail)
        return Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy: Self.contentSecurityPolicy,
            ],
            body: ResponseBody(byteBuffer: body))
    }

    /// JSON that cannot end the `<script>` element it sits in: every `<` is written `\u003c`
    /// (JSON allows that escape inside strings, and `<` appears nowhere else in JSON).
    static func scriptSafe(_ value: JSONValue) -> String {
        value.jsonString().replacingOccurrences(of: "<", with: "\\u003c")
    }
}
