import Foundation

/// The first file in a `multipart/form-data` body (RFC 7578), found without copying the body:
/// where its bytes start and end, and the file name its part gave. The page uploads raw
/// bytes; this is for `curl -F file=@clip.mp4` and plain HTML forms.
enum MultipartBody {
    struct FilePart: Equatable {
        var range: Range<Int>
        var fileName: String?
    }

    /// The boundary of a `multipart/form-data; boundary=…` content type.
    static func boundary(contentType: String) -> String? {
        guard contentType.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            return value.isEmpty || value.count > 200 ? nil : value
        }
        return nil
    }

    /// The first part with a `filename` in `body`, or nil when there is none or it is malformed.
    static func firstFile(in body: Data, boundary: String) -> FilePart? {
        let delimiter = Data(("--" + boundary).utf8)
        let headerEnd = Data("\r\n\r\n".utf8)
        var searchFrom = body.startIndex
        while let start = body.range(of: delimiter, in: searchFrom..<body.endIndex) {
            let headersStart = start.upperBound + 2  // after CRLF
            guard headersStart <= body.endIndex,
                let headersEnd = body.range(of: headerEnd, in: headersStart..<body.endIndex)
            else { return nil }
            let headers = String(decoding: body[headersStart..<headersEnd.lowerBound], as: UTF8.self)
            let contentStart = headersEnd.upperBound
            guard let next = body.range(of: Data("\r\n".utf8) + delimiter, in: contentStart..<body.endIndex) else {
                return nil
            }
            if let disposition = headers.split(separator: "\r\n").first(where: {
                $0.lowercased().hasPrefix("content-disposition:")
            }), disposition.contains("filename=") {
                return FilePart(range: contentStart..<next.lowerBound, fileName: fileName(in: String(disposition)))
            }
            searchFrom = next.lowerBound + 2
        }
        return nil
    }

    private static func fileName(in disposition: String) -> String? {
        guard let range = disposition.range(of: "filename=") else { return nil }
        var value = disposition[range.upperBound...]
        if value.hasPrefix("\"") {
            value = value.dropFirst()
            guard let close = value.firstIndex(of: "\"") else { return nil }
            return String(value[..<close])
        }
        return value.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) }
    }
}
