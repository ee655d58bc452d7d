/// `a=1&b=x%20y&b=z` as `["a": ["1"], "b": ["x y", "z"]]`: URL queries and form bodies
/// (`application/x-www-form-urlencoded`), `+` read as a space as forms write it.
enum QueryString {
    static func parse(_ text: String?) -> [String: [String]] {
        var values: [String: [String]] = [:]
        guard let text, !text.isEmpty else { return values }
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let spaced = parts.map { $0.replacingOccurrences(of: "+", with: " ") }
            guard let key = FileURL.decode(Substring(spaced[0])), !key.isEmpty else { continue }
            let value = spaced.count > 1 ? FileURL.decode(Substring(spaced[1])) ?? "" : ""
            values[key, default: []].append(value)
        }
        return values
    }
}
