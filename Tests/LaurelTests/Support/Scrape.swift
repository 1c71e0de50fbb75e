import Foundation
import LaurelShared
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One answer of a metrics endpoint, over real HTTP.
struct Scrape {
    var status: Int
    var contentType: String?
    var body: String

    /// Every sample, keyed by its series as written: `name{label="value",...}`.
    var samples: [String: Double] { Self.samples(in: body) }

    subscript(_ series: String) -> Double? { samples[series] }

    static func samples(in text: String) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }
}

extension LaurelMetrics {
    /// Every sample recorded so far, as `Scrape.samples` reads an endpoint's.
    var samples: [String: Double] { Scrape.samples(in: String(decoding: exposition(), as: UTF8.self)) }
}

func scrape(port: Int, path: String = "/metrics", method: String = "GET") async throws -> Scrape {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    request.httpMethod = method
    let session = URLSession(configuration: .ephemeral)
    defer { session.finishTasksAndInvalidate() }
    let (data, response) = try await session.data(for: request)
    guard let response = response as? HTTPURLResponse else { throw HarnessFailure("not an HTTP response: \(response)") }
    return Scrape(
        status: response.statusCode, contentType: response.value(forHTTPHeaderField: "Content-Type"),
        body: String(decoding: data, as: UTF8.self))
}

/// The series name of a per-RPC metric, labelled as `MetricsInterceptor` labels it.
func rpcSeries(_ name: String, _ service: String, _ method: String, code: String? = nil, le: String? = nil) -> String {
    var labels = [#"service="\#(service)""#, #"method="\#(method)""#]
    if let code { labels.append(#"code="\#(code)""#) }
    if let le { labels.append(#"le="\#(le)""#) }
    return "\(name){\(labels.joined(separator: ","))}"
}
