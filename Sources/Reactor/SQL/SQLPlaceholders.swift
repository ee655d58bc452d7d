/// The store writes parameters as SQLite does, `?1`, `?2` (or a bare `?`, numbered in order);
/// PostgreSQL wants `$1`, `$2`. This rewrites them outside quoted text and identifiers, once per
/// statement text (callers cache the result).
public enum SQLPlaceholders {
    public static func postgres(_ sql: String) -> String {
        var output = ""
        output.reserveCapacity(sql.utf8.count + 8)
        var next = 1
        var quote: Character?
        var characters = Array(sql)
        var index = 0
        // A `$$ … $$` body (functions) is copied as it is.
        var dollarQuoted = false
        while index < characters.count {
            let character = characters[index]
            if dollarQuoted {
                output.append(character)
                if character == "$" && index + 1 < characters.count && characters[index + 1] == "$" {
                    output.append("$")
                    index += 1
                    dollarQuoted = false
                }
            } else if let open = quote {
                output.append(character)
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
                output.append(character)
            } else if character == "$" && index + 1 < characters.count && characters[index + 1] == "$" {
                dollarQuoted = true
                output.append("$$")
                index += 1
            } else if character == "?" {
                var digits = ""
                while index + 1 < characters.count, characters[index + 1].isASCII, characters[index + 1].isNumber {
                    index += 1
                    digits.append(characters[index])
                }
                if digits.isEmpty {
                    output.append("$\(next)")
                    next += 1
                } else {
                    output.append("$" + digits)
                }
            } else {
                output.append(character)
            }
            index += 1
        }
        characters.removeAll()
        return output
    }
}
