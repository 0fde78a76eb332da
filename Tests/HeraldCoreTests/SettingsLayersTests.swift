import Testing

@testable import HeraldCore

/// How `herald serve` merges the command line, `HERALD_*` variables and the configuration file
/// into the one command line it parses.
@Suite struct SettingsLayersTests {
    let options = [
        SettingOption(long: "port", isFlag: false),
        SettingOption(long: "port-range", isFlag: false),
        SettingOption(long: "max-message-size", isFlag: false),
        SettingOption(long: "allowed-origins", isFlag: false),
        SettingOption(long: "store-messages", isFlag: true),
    ]

    func merge(
        _ arguments: [String] = [], environment: [String: String] = [:], file: [String: String] = [:]
    ) throws(SettingsFileError) -> (arguments: [String], sources: [String: SettingSource]) {
        try SettingsLayers.merge(arguments: arguments, options: options, environment: environment, file: file)
    }

    @Test func aFlagBeatsAVariableWhichBeatsTheFile() throws {
        let all = try merge(["--port=1"], environment: ["HERALD_PORT": "2"], file: ["port": "3"])
        #expect(all.arguments == ["--port=1"])
        #expect(all.sources == ["port": .commandLine])

        let noFlag = try merge(environment: ["HERALD_PORT": "2"], file: ["port": "3"])
        #expect(noFlag.arguments == ["--port=2"])
        #expect(noFlag.sources == ["port": .environment])

        let fileOnly = try merge(file: ["port": "3"])
        #expect(fileOnly.arguments == ["--port=3"])
        #expect(fileOnly.sources == ["port": .file])

        let nothing = try merge()
        #expect(nothing.arguments.isEmpty)
        #expect(nothing.sources.isEmpty, "an option set nowhere keeps the parser's default")
    }

    @Test func eachOptionTakesItsOwnHighestLayer() throws {
        let merged = try merge(
            ["--max-message-size", "1k"],
            environment: ["HERALD_MAX_MESSAGE_SIZE": "2k", "HERALD_PORT": "8080"],
            file: ["max-message-size": "3k", "port": "9090", "allowed-origins": "https://a.example"])
        #expect(
            merged.arguments == ["--max-message-size", "1k", "--port=8080", "--allowed-origins=https://a.example"])
        #expect(
            merged.sources == ["max-message-size": .commandLine, "port": .environment, "allowed-origins": .file])
    }

    @Test(arguments: [["--port", "1"], ["--port=1"], ["--port="]])
    func everySpellingOfAnOptionOnTheCommandLineCounts(arguments: [String]) throws {
        let merged = try merge(arguments, environment: ["HERALD_PORT": "2"], file: ["port": "3"])
        #expect(merged.arguments == arguments)
        #expect(merged.sources["port"] == .commandLine)
    }

    @Test(arguments: [["--store-messages"], ["--no-store-messages"], ["--store-messages=yes"]])
    func eitherSpellingOfAFlagOnTheCommandLineCounts(arguments: [String]) throws {
        let merged = try merge(arguments, environment: ["HERALD_STORE_MESSAGES": "on"], file: ["store-messages": "off"])
        #expect(merged.arguments == arguments)
        #expect(merged.sources == ["store-messages": .commandLine])
    }

    @Test func anOptionWhoseNameStartsTheSameIsNotTheOption() throws {
        let merged = try merge(["--port-range=1-9"], environment: ["HERALD_PORT": "80"])
        #expect(merged.arguments == ["--port-range=1-9", "--port=80"])
        #expect(merged.sources == ["port-range": .commandLine, "port": .environment])
    }

    @Test func onlyTheExactVariableNameIsRead() throws {
        let merged = try merge(environment: ["PORT": "1", "herald_port": "2", "HERALD_PORT_": "3", "HERALD-PORT": "4"])
        #expect(merged.arguments.isEmpty)
        #expect(merged.sources.isEmpty)
    }

    @Test func valuesArePassedAsWrittenForTheParserToCheck() throws {
        let merged = try merge(
            environment: ["HERALD_ALLOWED_ORIGINS": "https://a.example, https://b.example"],
            file: ["max-message-size": "a=b", "port": "not a port"])
        #expect(
            merged.arguments == [
                "--port=not a port", "--max-message-size=a=b", "--allowed-origins=https://a.example, https://b.example",
            ])
    }

    @Test(arguments: ["1", "true", "yes", "on", "TRUE", "Yes", "On"])
    func aFlagTurnedOnByAWordIsTheFlag(word: String) throws {
        for merged in [
            try merge(environment: ["HERALD_STORE_MESSAGES": word]), try merge(file: ["store-messages": word]),
        ] {
            #expect(merged.arguments == ["--store-messages"])
        }
        #expect(SettingsLayers.flagValue(word) == true)
    }

    @Test(arguments: ["0", "false", "no", "off", "FALSE", "No", "Off"])
    func aFlagTurnedOffByAWordIsItsNoSpelling(word: String) throws {
        let fromEnvironment = try merge(environment: ["HERALD_STORE_MESSAGES": word])
        #expect(fromEnvironment.arguments == ["--no-store-messages"])
        #expect(fromEnvironment.sources == ["store-messages": .environment])
        let fromFile = try merge(file: ["store-messages": word])
        #expect(fromFile.arguments == ["--no-store-messages"])
        #expect(fromFile.sources == ["store-messages": .file])
        #expect(SettingsLayers.flagValue(word) == false)
    }

    @Test(arguments: ["", "maybe", "2", "-1", " on", "off ", "enabled", "y", "n"])
    func otherWordsAreNeitherOnNorOff(word: String) {
        #expect(SettingsLayers.flagValue(word) == nil)
    }

    @Test func aFlagFileValueThatIsNoWordIsAnErrorNamingTheKey() {
        let expected = SettingsFileError(key: "store-messages", problem: "'maybe' is not true or false")
        #expect(throws: expected) { try merge(file: ["store-messages": "maybe"]) }
        #expect(expected.description == "store-messages: 'maybe' is not true or false")
    }

    @Test func aFlagVariableThatIsNoWordGoesToTheParserToReport() throws {
        let merged = try merge(environment: ["HERALD_STORE_MESSAGES": "maybe"], file: ["store-messages": "true"])
        #expect(merged.arguments == ["--store-messages=maybe"])
        #expect(merged.sources == ["store-messages": .environment])
    }

    @Test func aMisspelledFileKeyIsAnErrorSuggestingTheSetting() {
        let expected = SettingsFileError(
            key: "max-mesage-size", problem: "no such setting (did you mean 'max-message-size'?)")
        #expect(throws: expected) { try merge(file: ["max-mesage-size": "64k"]) }
        #expect(expected.description == "max-mesage-size: no such setting (did you mean 'max-message-size'?)")
    }

    @Test(arguments: ["max_message_size", "MAX_MESSAGE_SIZE", "Max-Message-Size", "max_mesage_size"])
    func aKeyWrittenOtherwiseSuggestsTheDashedName(key: String) {
        #expect(throws: SettingsFileError(key: key, problem: "no such setting (did you mean 'max-message-size'?)")) {
            try merge(file: [key: "64k"])
        }
    }

    @Test func aKeyLikeNoSettingIsAnErrorWithoutASuggestion() {
        #expect(throws: SettingsFileError(key: "colour", problem: "no such setting")) {
            try merge(file: ["colour": "blue"])
        }
    }

    @Test func anUnknownKeyIsAnErrorEvenBesideGoodOnesAndTheFirstByNameIsNamed() {
        #expect(throws: SettingsFileError(key: "b-unknown", problem: "no such setting")) {
            try merge(
                ["--port=1"], environment: ["HERALD_PORT": "2"],
                file: ["port": "3", "zz-unknown": "x", "b-unknown": "y", "store-messages": "on"])
        }
    }

    @Test func theSuggestionIsTheClosestNameWithinThreeEdits() {
        let known: Set = ["port", "max-message-size", "store-messages"]
        #expect(SettingsLayers.suggestion(for: "prot", in: known) == " (did you mean 'port'?)")
        #expect(SettingsLayers.suggestion(for: "pxyz", in: known) == " (did you mean 'port'?)")
        #expect(SettingsLayers.suggestion(for: "wxyz", in: known) == "")
        #expect(SettingsLayers.suggestion(for: "store_message", in: known) == " (did you mean 'store-messages'?)")
        #expect(SettingsLayers.suggestion(for: "anything", in: []) == "")
    }

    @Test func equallyCloseNamesSuggestTheFirstAlphabetically() {
        for _ in 0..<20 {
            #expect(SettingsLayers.suggestion(for: "hat", in: ["rat", "cat", "bat"]) == " (did you mean 'bat'?)")
        }
    }

    @Test(arguments: [
        ("", "", 0), ("", "abc", 3), ("abc", "", 3), ("same", "same", 0), ("kitten", "sitting", 3),
        ("flaw", "lawn", 2), ("ab", "ba", 2), ("max-mesage-size", "max-message-size", 1), ("port", "prot", 2),
        ("héllo", "hello", 1),
    ])
    func editDistanceCountsInsertionsDeletionsAndChanges(a: String, b: String, expected: Int) {
        #expect(SettingsLayers.editDistance(Array(a), Array(b)) == expected)
        #expect(SettingsLayers.editDistance(Array(b), Array(a)) == expected)
    }

    @Test func sourcesReadAsPrintConfigShowsThem() {
        #expect(SettingSource.commandLine.rawValue == "command line")
        #expect(SettingSource.environment.rawValue == "environment")
        #expect(SettingSource.file.rawValue == "file")
        #expect(SettingSource.defaultValue.rawValue == "default")
    }
}
