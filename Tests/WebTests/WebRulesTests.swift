import Foundation
import JSON
import XCTest

@testable import Web

/// The dashboard's pure rules: ranges, hosts, names, uploads' types, redaction.
final class WebRulesTests: XCTestCase {
    func testByteRangesAsVideoPlayersSendThem() {
        XCTAssertEqual(ByteRange.parse(nil, size: 100), .whole)
        XCTAssertEqual(ByteRange.parse("bytes=0-", size: 100), .part(0...99))
        XCTAssertEqual(ByteRange.parse("bytes=10-19", size: 100), .part(10...19))
        XCTAssertEqual(ByteRange.parse("bytes=90-500", size: 100), .part(90...99), "an end past the file is clamped")
        XCTAssertEqual(ByteRange.parse("bytes=-5", size: 100), .part(95...99))
        XCTAssertEqual(ByteRange.parse("bytes=-500", size: 100), .part(0...99))
        XCTAssertEqual(ByteRange.parse("bytes=5-9, 20-30", size: 100), .part(5...9), "only the first of a list")
        XCTAssertEqual(ByteRange.parse("bytes=100-", size: 100), .unsatisfiable)
        XCTAssertEqual(ByteRange.parse("bytes=9-5", size: 100), .unsatisfiable)
        XCTAssertEqual(ByteRange.parse("bytes=x-y", size: 100), .unsatisfiable)
        XCTAssertEqual(ByteRange.parse("bytes=-0", size: 100), .unsatisfiable)
        XCTAssertEqual(ByteRange.parse("items=0-5", size: 100), .whole, "other units are ignored")
    }

    func testHostHeadersThatNameThisServer() {
        let loopback = HostCheck(address: WebAddress(host: "127.0.0.1", port: 5001))
        XCTAssertTrue(loopback.allows("127.0.0.1:5001", port: 5001))
        XCTAssertTrue(loopback.allows("localhost:5001", port: 5001))
        XCTAssertTrue(loopback.allows("LOCALHOST:5001", port: 5001))
        XCTAssertFalse(loopback.allows("127.0.0.1:5002", port: 5001), "another port")
        XCTAssertFalse(loopback.allows("127.0.0.1", port: 5001), "no port means 80")
        XCTAssertFalse(loopback.allows("evil.example:5001", port: 5001), "DNS rebinding")
        XCTAssertFalse(loopback.allows("192.168.1.9:5001", port: 5001))
        XCTAssertFalse(loopback.allows(nil, port: 5001))
        XCTAssertFalse(loopback.allows("a:b:c", port: 5001))
        let wildcard = HostCheck(address: WebAddress(host: "0.0.0.0", port: 80), allowedNames: ["Studio.Local"])
        XCTAssertTrue(wildcard.allows("192.168.1.9", port: 80), "an IP literal cannot be rebound")
        XCTAssertTrue(wildcard.allows("[fe80::1]", port: 80))
        XCTAssertTrue(wildcard.allows("studio.local", port: 80), "a name from WEB_ALLOWED_HOSTS")
        XCTAssertFalse(wildcard.allows("evil.example", port: 80))
        XCTAssertFalse(wildcard.allows("999.1.1.1", port: 80))
    }

    func testAddressesAndWhatNeedsAToken() {
        XCTAssertEqual(WebAddress(parsing: "127.0.0.1:5001"), WebAddress(host: "127.0.0.1", port: 5001))
        XCTAssertEqual(WebAddress(parsing: ":8080"), WebAddress(host: "127.0.0.1", port: 8080))
        XCTAssertEqual(WebAddress(parsing: "[::1]:9"), WebAddress(host: "::1", port: 9))
        XCTAssertNil(WebAddress(parsing: "127.0.0.1"))
        XCTAssertNil(WebAddress(parsing: "host:99999"))
        var settings = WebSettings(
            address: WebAddress(host: "0.0.0.0", port: 5001), store: .sqlite(path: "j"), outputDirectory: "/o")
        XCTAssertNotNil(settings.refusal, "open to the network without a token")
        settings.token = "0123456789abcdef"
        XCTAssertNil(settings.refusal)
        settings.token = "short"
        XCTAssertNotNil(settings.refusal)
        XCTAssertNil(WebSettings(address: .standard, store: .sqlite(path: "j"), outputDirectory: "/o").refusal)
    }

    func testFileURLsStayInTheirFolder() {
        XCTAssertEqual(FileURL.url(for: "/out/12/image-1.png", under: "/out"), "/files/12/image-1.png")
        XCTAssertEqual(FileURL.url(for: "/out/uploads/a b.png", under: "/out"), "/files/uploads/a%20b.png")
        XCTAssertNil(FileURL.url(for: "/elsewhere/x.png", under: "/out"))
        XCTAssertNil(FileURL.url(for: "/out/12/deep/x.png", under: "/out"))
        XCTAssertNil(FileURL.url(for: "/output/12/x.png", under: "/out"), "a sibling with the same prefix")
        XCTAssertEqual(FileURL.decode("%2e%2E"), "..")
        XCTAssertNil(FileURL.decode("%zz"))
        XCTAssertNil(FileURL.decode("%ff"), "not UTF-8")
        for name in ["..", ".", "", ".hidden", "a/b", "a\\b", "a\0b"] {
            XCTAssertFalse(ServedFile.isPlainName(name), name)
        }
        XCTAssertTrue(ServedFile.isPlainName("image-1.png"))
    }

    func testUploadsAreTypedByTheirBytes() {
        func kind(_ bytes: [UInt8]) -> String? { MediaSniffer.kind(of: bytes)?.fileExtension }
        XCTAssertEqual(kind([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]), "png")
        XCTAssertEqual(kind([0xFF, 0xD8, 0xFF, 0xE0]), "jpg")
        XCTAssertEqual(kind(Array("GIF89a...".utf8)), "gif")
        XCTAssertEqual(kind(Array("RIFF\u{0}\u{0}\u{0}\u{0}WEBPVP8 ".utf8)), "webp")
        XCTAssertEqual(kind([0, 0, 0, 0x18] + Array("ftypisom".utf8)), "mp4")
        XCTAssertEqual(kind([0, 0, 0, 0x14] + Array("ftypqt  ".utf8)), "mov")
        XCTAssertEqual(kind([0x1A, 0x45, 0xDF, 0xA3] + Array("....webm".utf8)), "webm")
        XCTAssertNil(kind(Array("<html><script>".utf8)))
        XCTAssertNil(kind([]))
        let name = UploadsRoute.keptName(original: "../../etc/My Clip (final).MP4", extension: "mp4")
        XCTAssertTrue(name.hasSuffix("-My-Clip--final.mp4"), name)
        XCTAssertFalse(name.contains("/"))
        XCTAssertTrue(UploadsRoute.keptName(original: "..", extension: "png").hasSuffix("-upload.png"))
    }

    func testMultipartFindsTheFilePart() {
        XCTAssertEqual(MultipartBody.boundary(contentType: "multipart/form-data; boundary=\"abc\""), "abc")
        XCTAssertNil(MultipartBody.boundary(contentType: "application/json"))
        let body = Data(
            ("--abc\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
                + "--abc\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nPNGDATA\r\n--abc--\r\n")
                .utf8)
        let part = MultipartBody.firstFile(in: body, boundary: "abc")
        XCTAssertEqual(part?.fileName, "a.png")
        XCTAssertEqual(part.map { String(decoding: body[$0.range], as: UTF8.self) }, "PNGDATA")
        XCTAssertNil(MultipartBody.firstFile(in: Data("--abc\r\nbroken".utf8), boundary: "abc"))
    }

    func testRedactionTakesOutKeysAndSecretValues() {
        let redaction = Redaction(secrets: ["sk-very-secret-1"])
        let shown = redaction.json(
            [
                "prompt": "say sk-very-secret-1", "key_color": "#00FF00",
                "options": ["api_key": "abc", "Authorization": "Bearer x", "access_token": "t", "quality": "hd"],
            ])
        XCTAssertEqual(shown["prompt"], "say [redacted]")
        XCTAssertEqual(shown["key_color"], "#00FF00", "a param named key_… is no key")
        XCTAssertEqual(shown["options"]?["api_key"], "[redacted]")
        XCTAssertEqual(shown["options"]?["Authorization"], "[redacted]")
        XCTAssertEqual(shown["options"]?["access_token"], "[redacted]")
        XCTAssertEqual(shown["options"]?["quality"], "hd")
    }

    func testQueriesAndFilters() throws {
        XCTAssertEqual(QueryString.parse("a=1&b=x+y&b=%C3%A9&c"), ["a": ["1"], "b": ["x y", "é"], "c": [""]])
        let filter = try FilterQuery.filter(["status": ["failed,running"], "type": ["animation"], "q": [" fox "]])
        XCTAssertEqual(
            filter.statuses.map(\.rawValue), ["failed", "processing", "keying_processing", "cancel_requested"])
        XCTAssertEqual(filter.text, "fox")
        XCTAssertThrowsError(try FilterQuery.filter(["status": ["done"]])) { error in
            XCTAssertEqual((error as? APIError)?.field, "status")
        }
        XCTAssertThrowsError(try FilterQuery.filter(json: ["provider": ["x"]], field: "filter")) { error in
            XCTAssertEqual((error as? APIError)?.field, "filter.provider")
        }
        XCTAssertEqual(PageRoutes.safeNext("/jobs/3"), "/jobs/3")
        for unsafe in ["//evil.example", "https://evil.example", "/\\evil", "/a\r\nSet-Cookie: x", nil] {
            XCTAssertEqual(PageRoutes.safeNext(unsafe), "/", unsafe ?? "nil")
        }
    }

    func testNewJobsAreCheckedAllTogether() throws {
        let jobs = try NewJobs.parse(
            ["job_type": "image_generation", "params": ["provider": "openai", "prompt": "a fox"], "count": 3], limit: 10
        )
        XCTAssertEqual(jobs.count, 3)
        XCTAssertThrowsError(
            try NewJobs.parse(
                ["job_type": "image_generation", "params": ["provider": "openai", "prompt": "a"], "count": 11],
                limit: 10))
        XCTAssertThrowsError(
            try NewJobs.parse(
                ["jobs": [["job_type": "animation", "params": ["provider": "kling"]], ["job_type": "x"]]], limit: 10)
        ) { error in
            let problems = (error as? APIError)?.problems.map(\.field) ?? []
            XCTAssertEqual(problems, ["jobs[0].params.prompt", "jobs[1].job_type"])
        }
    }

    func testPagesCannotBeBrokenOutOfTheirScript() {
        XCTAssertEqual(
            Pages.scriptSafe(["x": "</script><script>alert(1)</script>"]),
            #"{"x":"\u003c/script>\u003cscript>alert(1)\u003c/script>"}"#)
    }
}
