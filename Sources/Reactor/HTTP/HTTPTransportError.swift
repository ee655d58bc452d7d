/// A request that got no HTTP answer at all: resolve, connect, TLS, timeout, reset, cancel.
/// Distinct from `HTTPResponse` with a 4xx/5xx status, which is an answer.
public struct HTTPTransportError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case timeout
        case couldNotResolve
        case couldNotConnect
        case localFile
        case other
    }

    public var kind: Kind
    /// libcurl's code (CURLcode), for logs and support.
    public var curlCode: Int32
    public var message: String

    public init(kind: Kind, curlCode: Int32, message: String) {
        self.kind = kind
        self.curlCode = curlCode
        self.message = message
    }

    public var description: String { message }
}
