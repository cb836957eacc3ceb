import Foundation
import PresenceSync
import Testing

@Suite("Configuration: observability.listen")
struct ObservabilityConfigurationTests {
    func parse(_ observability: Any?) throws(ConfigError) -> Configuration {
        var overrides: [String: Any] = [:]
        if let observability { overrides["observability"] = observability }
        return try Configuration.parse(ConfigurationTests.document(overrides))
    }

    @Test("absent: no endpoint")
    func absent() throws {
        #expect(try parse(nil).observability.listen == nil)
        #expect(try parse([String: Any]()).observability.listen == nil)
    }

    @Test(
        "IPv4, bracketed IPv6 and localhost addresses are accepted",
        arguments: [
            ("127.0.0.1:9464", "127.0.0.1", 9464, true),
            ("0.0.0.0:9464", "0.0.0.0", 9464, false),
            ("localhost:0", "localhost", 0, true),
            ("[::1]:9464", "::1", 9464, true),
            ("[::]:80", "::", 80, false),
            ("[fe80::1:2]:65535", "fe80::1:2", 65535, false),
            ("[2001:db8:0:0:0:0:0:1]:9464", "2001:db8:0:0:0:0:0:1", 9464, false),
        ]
    )
    func accepted(text: String, host: String, port: Int, loopback: Bool) throws {
        let listen = try #require(try parse(["listen": text]).observability.listen)
        #expect(listen.host == host)
        #expect(listen.port == port)
        #expect(listen.isLoopback == loopback)
    }

    @Test(
        "anything else is refused, naming observability.listen",
        arguments: [
            "127.0.0.1", "127.0.0.1:", ":9464", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:http", "256.0.0.1:9464",
            "1.2.3:9464", "example.com:9464", "::1:9464", "[::1]", "[::1]9464", "[1::2::3]:80", "[12345::1]:80",
            "[1:2:3:4:5:6:7]:80", "http://127.0.0.1:9464", " 127.0.0.1:9464",
        ]
    )
    func refused(text: String) {
        #expect(throws: ConfigError.self) { try parse(["listen": text]) }
        do {
            _ = try parse(["listen": text])
        } catch {
            #expect(error.key == "observability.listen", "\(text): \(error)")
        }
    }

    @Test("wrong types and unknown keys name their key")
    func wrongShapes() {
        for (value, key) in [
            (["listen": 9464] as Any, "observability.listen"), ("127.0.0.1:9464" as Any, "observability"),
            (["listen": "127.0.0.1:9464", "port": 1] as Any, "observability.port"),
        ] {
            do {
                _ = try parse(value)
                Issue.record("\(value) should be refused")
            } catch {
                #expect(error.key == key)
            }
        }
    }
}
