import FuzzSupport
import HeraldCore
import NIOCore
import NIOHTTP1

// `@testable`: the machine is internal to HeraldServer, and this build compiles HeraldServer for
// testing (see `Package.swift`), rather than widening the module's API for one test tool.
@testable import HeraldServer

/// Any sequence of connection events: the machine writes answers in request order and never
/// twice, does nothing after it closes or hands the connection over, starts each exchange once,
/// and never runs more than `maxPipelinedRequests` (plus one) exchanges at a time.
///
/// Requests arrive whether or not a read was granted: one read may carry many pipelined requests,
/// and the decoder hands them all to the machine.
@_cdecl("ConnectionStateMachineFuzz_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    FuzzDriver.run(argc, argv) { data, size in
        var input = Input(FuzzDriver.bytes(data, size))
        check(&input)
        return 0
    }
}

/// The input bytes read from the front; past the end every byte is 0.
struct Input {
    let bytes: UnsafeBufferPointer<UInt8>
    var offset = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var isEmpty: Bool { offset >= bytes.count }

    mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }
}

let methods: [HTTPMethod] = [.GET, .POST, .PUT, .DELETE, .OPTIONS, .HEAD]

func route(_ byte: UInt8) -> Route {
    switch byte % 7 {
    case 0: .publisher(admin: true)
    case 1: .publisher(admin: false)
    case 2: .stats
    case 3: .health
    case 4: .subscriber(.longPolling, channelsPath: "a", forceArguments: false)
    case 5: .subscriber(.eventSource, channelsPath: "a", forceArguments: false)
    default: .notFound
    }
}

let lengths = ["0", "-1", "abc", " 3", "99999999999999999999999", "+4", ""]
/// Endpoint answers carry their exchange's id in the status code, from this base; the machine's
/// own refusals (400, 408, 413, 431) stay below it.
let answerBase: UInt = 1000

/// What the connection has seen, checked after every event.
struct Observed {
    var started: [Int] = []
    var startedSet: Set<Int> = []
    /// Started, and neither answered nor dropped by the close.
    var running: Set<Int> = []
    var answered: Set<Int> = []
    var lastWritten = -1
    var writtenSet: Set<Int> = []
    var over = false
}

func check(_ input: inout Input) {
    let maxPipelined = 1 + Int(input.byte() % 4)
    let configuration = ConnectionStateMachine.Configuration(
        maxPipelinedRequests: maxPipelined, maxBodySize: Int(input.byte() % 32),
        requestTimeout: .seconds(1 + Int64(input.byte() % 8)))
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    var machine = ConnectionStateMachine(configuration: configuration, now: now)
    var seen = Observed()
    drain(&machine, &seen, maxPipelined: maxPipelined)

    while !input.isEmpty {
        let event = input.byte()
        switch event % 12 {
        case 0, 1:
            machine.receivedHead(head(&input), route: route(input.byte()))
        case 2:
            machine.receivedBody(ByteBuffer(repeating: 0x61, count: Int(input.byte() % 24)))
        case 3, 4:
            machine.receivedEnd()
        case 5:
            machine.parseFailed(input.byte() % 2 == 0 ? .malformedRequest : .headersTooLarge)
        case 6, 7:
            // Mostly a started exchange; now and then one that never was.
            let pick = Int(input.byte())
            let id = seen.started.isEmpty || pick >= 240 ? pick - 240 : seen.started[pick % seen.started.count]
            let answer = HTTPAnswer(
                status: .custom(code: answerBase + UInt(max(id, 0)), reasonPhrase: ""),
                closesConnection: input.byte() % 8 == 0)
            if seen.running.contains(id) { seen.answered.insert(id) }
            machine.answerReady(id, answer, now: now)
        case 8:
            machine.readRequested()
        case 9:
            now = now + .milliseconds(Int64(input.byte()) * 50)
            machine.deadlinePassed(now: now)
        case 10:
            if event & 0x80 == 0 {
                machine.shutdown(closeIdle: event & 0x40 != 0)
            } else {
                let pick = Int(input.byte())
                let id = seen.started.isEmpty ? pick : seen.started[pick % seen.started.count]
                if case .granted = machine.takeOver(id) {
                    FuzzDriver.require(!seen.over, "a take-over granted after the end")
                    FuzzDriver.require(seen.running == [id], "a take-over granted beside \(seen.running)")
                    seen.over = true
                }
            }
        default:
            machine.closed()
            seen.over = true
        }
        drain(&machine, &seen, maxPipelined: maxPipelined)
    }
}

/// A request head: method, version and the headers that steer the machine.
func head(_ input: inout Input) -> HTTPRequestHead {
    let method = methods[Int(input.byte()) % methods.count]
    let flags = input.byte()
    var headers = HTTPHeaders()
    if flags & 0x01 != 0 { headers.add(name: "Content-Length", value: String(input.byte() % 40)) }
    if flags & 0x02 != 0 { headers.add(name: "content-length", value: lengths[Int(input.byte()) % lengths.count]) }
    if flags & 0x04 != 0 { headers.add(name: "Expect", value: flags & 0x08 != 0 ? "100-Continue" : "100-continue") }
    if flags & 0x10 != 0 { headers.add(name: "Connection", value: flags & 0x08 != 0 ? "keep-alive" : "close") }
    if flags & 0x20 != 0 { headers.add(name: "Connection", value: "Upgrade") }
    let version = flags & 0x40 != 0 ? HTTPVersion.http1_0 : .http1_1
    return HTTPRequestHead(version: version, method: method, uri: "/", headers: headers)
}

/// Carries out every queued action and checks the invariants.
func drain(_ machine: inout ConnectionStateMachine, _ seen: inout Observed, maxPipelined: Int) {
    while let action = machine.nextAction() {
        FuzzDriver.require(!seen.over, "an action after the end: \(action)")
        switch action {
        case .startExchange(let id, _, _):
            FuzzDriver.require(!seen.startedSet.contains(id), "exchange \(id) started twice")
            seen.started.append(id)
            seen.startedSet.insert(id)
            seen.running.insert(id)
        case .writeAnswer(let answer, _, _):
            let code = answer.status.code
            guard code >= answerBase else {
                // A refusal of the machine's own leaves after every answer owed.
                FuzzDriver.require(seen.running.isEmpty, "a refusal written before \(seen.running) were answered")
                continue
            }
            let id = Int(code - answerBase)
            FuzzDriver.require(seen.startedSet.contains(id), "an answer written for \(id), never started")
            FuzzDriver.require(seen.answered.contains(id), "an answer written for \(id) before it was ready")
            FuzzDriver.require(!seen.writtenSet.contains(id), "the answer of \(id) written twice")
            FuzzDriver.require(id > seen.lastWritten, "the answer of \(id) written after \(seen.lastWritten)")
            FuzzDriver.require(
                seen.started.allSatisfy { $0 >= id || seen.writtenSet.contains($0) },
                "the answer of \(id) written before an earlier one")
            seen.lastWritten = id
            seen.writtenSet.insert(id)
            seen.running.remove(id)
        case .close:
            seen.over = true
        case .sendContinue, .flush, .read, .scheduleDeadline:
            break
        }
    }
    if !seen.over {
        // Answered but not yet written (waiting for an earlier one) no longer runs.
        seen.running.subtract(seen.answered)
        FuzzDriver.require(
            seen.running.count <= maxPipelined + 1,
            "\(seen.running.count) exchanges running, limit \(maxPipelined)")
    }
}
