import Foundation
import XCTest
@testable import Training

/// Each setting is declared once (TrainSettings); the flag parser, config files, config.json,
/// the help text and validation must all agree with that declaration and with TrainConfig.
final class TrainSettingsTests: XCTestCase {
    func testEveryPropertyOfTheConfigIsADeclaredSettingAndNoOtherKeyIs() throws {
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainConfig())) as! [String: Any]
        var keys = Set(json.keys)
        // Optional settings left nil are absent from the encoding; set them to see their keys.
        var full = TrainConfig()
        full.decoderHidden = [1]; full.encoder = "dense:1"; full.decoder = "dense:1"
        let fullJSON = try JSONSerialization.jsonObject(with: JSONEncoder().encode(full)) as! [String: Any]
        keys.formUnion(fullJSON.keys)
        XCTAssertEqual(keys, Set(TrainSettings.all.map(\.key)))
        XCTAssertEqual(Set(TrainSettings.all.map(\.flag)).count, TrainSettings.all.count, "a flag declared twice")
    }

    func testFlagsInEveryFormSetTheirSettings() throws {
        var c = TrainConfig()
        try SettingArguments(["--epochs", "3", "--hidden=64,32", "--no-eval", "--binarize", "--explain-sample", "4",
                              "--explain-sample", "5", "--lr", "0.002", "--epochs", "4"]).apply(to: &c)
        XCTAssertEqual(c.epochs, 4, "the last of a value flag wins")
        XCTAssertEqual(c.hidden, [64, 32])
        XCTAssertFalse(c.evaluateTest)
        XCTAssertTrue(c.binarize)
        XCTAssertEqual(c.explainSamples, [4, 5])
        XCTAssertEqual(c.lr, 0.002)
        XCTAssertNoThrow(try c.validate())
    }

    func testMistakesOnTheCommandLineAreOneLineNamingTheFlag() {
        func refusal(_ args: [String]) -> String {
            do {
                var c = TrainConfig()
                try SettingArguments(args).apply(to: &c)
                try c.validate()
                return "accepted"
            } catch { return "\(error)" }
        }
        XCTAssertEqual(refusal(["--epoch", "3"]), "unknown option --epoch; did you mean --epochs?")
        XCTAssertTrue(refusal(["--frobnicate"]).hasPrefix("unknown option --frobnicate"))
        XCTAssertTrue(refusal(["--epochs"]).hasPrefix("--epochs needs a value"))
        XCTAssertEqual(refusal(["--epochs", "ten"]), "--epochs expects a whole number of at least 1, got ten")
        XCTAssertEqual(refusal(["--epochs", "0"]), "--epochs expects a whole number of at least 1, got 0")
        XCTAssertEqual(refusal(["--hidden", "64,,32"]), "--hidden expects comma-separated positive widths such as 512,256, got 64,,32")
        XCTAssertEqual(refusal(["--likelihood", "poisson"]), "--likelihood expects bernoulli|gaussian|gaussian-learned, got poisson")
        XCTAssertTrue(refusal(["--eval=yes"]).hasPrefix("--eval takes no value"))
        XCTAssertTrue(refusal(["--no-eval=1"]).hasPrefix("--no-eval takes no value"))
        XCTAssertTrue(refusal(["3"]).hasPrefix("unexpected argument '3'"))
        XCTAssertTrue(refusal(["--encoder", "conv:32k"]).contains("--encoder"))
        for message in [refusal(["--epoch", "3"]), refusal(["--epochs", "ten"])] { XCTAssertFalse(message.contains("\n")) }
    }

    func testTheHelpListsEverySettingWithItsKey() {
        let help = TrainSettings.helpText
        for s in TrainSettings.all {
            XCTAssertTrue(help.contains("--\(s.flag)"), s.flag)
            XCTAssertTrue(help.contains("[config key: \(s.key)]"), s.key)
        }
    }

    func testAConfigFileIsCheckedByTheSameRulesNamingItsKeys() throws {
        var c = TrainConfig()
        c.epochs = 0
        XCTAssertThrowsError(try c.validate(source: "run.json")) { error in
            XCTAssertEqual("\(error)", "run.json: key \"epochs\" expects a whole number of at least 1, got 0")
        }
        c = TrainConfig()
        c.maxNonFiniteSteps = 0
        XCTAssertThrowsError(try c.validate(source: "run.json")) { error in
            XCTAssertTrue("\(error)".contains("key \"maxNonFiniteSteps\""), "\(error)")
        }
    }
}
