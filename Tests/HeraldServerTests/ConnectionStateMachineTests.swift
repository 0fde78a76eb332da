import HeraldCore
import HeraldTesting
import NIOCore
import NIOHTTP1
import Testing

@testable import HeraldServer

/// The connection's rules as plain values: no channel, an explicit clock.
@Suite struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine

    /// What the machine asked for, in a form a test can compare.
    enum Step: Equatable {
        case sendContinue
        case start(Int, String)
        case write(UInt, keepAlive: Bool)
        case flush
        case close
        case read
        case schedule(Int64)
    }

    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func machine(maxPipelined: Int = 4, maxBody: Int = 16, timeoutSeconds: Int64 = 10) -> Machine {
        Machine(
            configuration: .init(
                maxPipelinedRequests: maxPipelined, maxBodySize: maxBody, requestTimeout: .seconds(timeoutSeconds)),
            now: t0)
    }

    static func drain(_ machine: inout Machine) -> [Step] {
        var steps: [Step] = []
        while let action = machine.nextAction() {
            switch action {
            case .sendContinue: steps.append(.sendContinue)
            case .startExchange(let id, let request, _): steps.append(.start(id, request.head.uri))
            case .writeAnswer(let answer, _, let keepAlive):
                steps.append(.write(answer.status.code, keepAlive: keepAlive))
            case .flush: steps.append(.flush)
            case .close: steps.append(.close)
            case .read: steps.append(.read)
            case .scheduleDeadline(let time):
                steps.append(.schedule(Int64(time.uptimeNanoseconds - t0.uptimeNanoseconds) / 1_000_000_000))
            }
        }
        return steps
    }

    static func head(
        _ method: HTTPMethod = .GET, _ uri: String, _ headers: [(String, String)] = [], version: HTTPVersion = .http1_1
    ) -> HTTPRequestHead {
        HTTPRequestHead(version: version, method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    static let publish = Route.publisher(admin: true)
    static let stats = Route.stats

    /// Feeds a complete request without a body.
    static func request(_ machine: inout Machine, _ method: HTTPMethod, _ uri: String, route: Route) {
        machine.receivedHead(head(method, uri), route: route)
        machine.receivedEnd()
    }

    static func request(_ machine: inout Machine, _ uri: String, route: Route) {
        request(&machine, .GET, uri, route: route)
    }

    static func seconds(_ n: Int64) -> NIODeadline { t0 + .seconds(n) }

    @Test func theFirstRequestIsDueWithinTheTimeout() {
        var machine = Self.machine()
        #expect(Self.drain(&machine) == [.schedule(10)])
    }

    @Test func oneRequestStartsAndItsAnswerIsWrittenThenFlushed() {
        var machine = Self.machine()
        _ = Self.drain(&machine)
        Self.request(&machine, "/channels-stats", route: Self.stats)
        #expect(Self.drain(&machine) == [.start(0, "/channels-stats")])
        machine.answerReady(0, HTTPAnswer(status: .ok), now: Self.seconds(1))
        // The wake-up already scheduled serves the next deadline too: no timer per request.
        #expect(Self.drain(&machine) == [.write(200, keepAlive: true), .flush])
    }

    @Test func pipelinedPublishesRunTogetherAndAnswersKeepRequestOrder() {
        var machine = Self.machine()
        _ = Self.drain(&machine)
        for i in 0..<3 { Self.request(&machine, .POST, "/pub?id=\(i)", route: Self.publish) }
        #expect(Self.drain(&machine) == [.start(0, "/pub?id=0"), .start(1, "/pub?id=1"), .start(2, "/pub?id=2")])
        machine.answerReady(2, HTTPAnswer(status: .ok), now: Self.seconds(1))
        machine.answerReady(1, HTTPAnswer(status: .created), now: Self.seconds(1))
        #expect(Self.drain(&machine).isEmpty, "answers wait for the first")
        machine.answerReady(0, HTTPAnswer(status: .accepted), now: Self.seconds(1))
        #expect(
            Self.drain(&machine) == [
                .write(202, keepAlive: true), .write(201, keepAlive: true), .write(200, keepAlive: true), .flush,
            ])
    }

    @Test func anyOtherRequestWaitsForEveryAnswerBeforeItAndRunsAlone() {
        var machine = Self.machine()
        _ = Self.drain(&machine)
        Self.request(&machine, .POST, "/pub?id=a", route: Self.publish)
        Self.request(&machine, "/channels-stats", route: Self.stats)
        Self.request(&machine, .POST, "/pub?id=b", route: Self.publish)
        #expect(Self.drain(&machine) == [.start(0, "/pub?id=a")])
        machine.answerReady(0, HTTPAnswer(status: .ok), now: Self.seconds(1))
        #expect(Self.drain(&machine) == [.write(200, keepAlive: true), .flush, .start(1, "/channels-stats")])
        machine.answerReady(1, HTTPAnswer(status: .ok), now: Self.seconds(1))
        #expect(Self.drain(&machine) == [.write(200, keepAlive: true), .flush, .start(2, "/pub?id=b")])
    }

    @Test func readsAreHeldWhileTooManyRequestsAreInFlight() {
        var machine = Self.machine(maxPipelined: 2)
        _ = Self.drain(&machine)
        machine.readRequested()
        #expect(Self.drain(&machine) == [.read])
        Self.request(&machine, .POST, "/pub?id=a", route: Self.publish)
        Self.request(&machine, .POST, "/pub?id=b", route: Self.publish)
        _ = Self.drain(&machine)
        machine.readRequested()
        #expect(Self.drain(&machine).isEmpty)
        machine.answerReady(0, HTTPAnswer(status: .ok), now: Self.seconds(1))
        #expect(Self.drain(&machine) == [.write(200, keepAlive: true), .flush, .read])
    }

    /// One read can carry more pipelined publishes than the limit, and the decoder hands them all
    /// over: no more than the limit run at a time, and the rest start as answers come back, in or
    /// out of order (found by the connection state machine fuzzer).
    @Test func publishesFromOneReadRunNoMoreThanTheLimitAtATime() {
        var machine = Self.machine(maxPipelined: 2)
        _ = Self.drain(&machine)
        for i in 0..<5 { Self.request(&machine, .POST, "/pub?id=\(i)", route: Self.publish) }
        #expect(Self.drain(&machine) == [.start(0, "/pub?id=0"), .start(1, "/pub?id=1")])
        machine.answerReady(1, HTTPAnswer(status: .created), now: Self.seconds(1))
        #expect(Self.drain(&machine) == [.start(2, "/pub?id=2")], "an answer out of order frees a place")
        machine.answerReady(0, HTTPAnswer(status: .accepted), now: Self.seconds(1))
        #expect(
            Self.drain(&machine) == [
                .write(202, keepAlive: true), .write(201, keepAlive: true), .flush, .start(3, "/pub?id=3"),
            ])
        machine.answerReady(2, HTTPAnswer(status: .ok), now: Self.seconds(1))
        machine.answerReady(3, HTTPAnswer(status: .ok), now: Self.seconds(1))
        #expect(
            Self.drain(&machine) == [
                .write(200, keepAlive: true), .flush, .start(4, "/pub?id=4"), .write(200, keepAlive: true), .flush,
            ])
    }

    @Test func aBodyOverTheLimitIsRefusedAfterTheAnswersOwedThenTheConnectionCloses() {
        var machine = Self.machine(maxBody: 4)
        _ = Self.drain(&machine)
        Self.request(&machine, .POST, "/pub?id=a", route: Self.publish)
        machine.receivedHead(Self.head(.POST, "/pub?id=b"), route: Self.publish)
        machine.receivedBody(ByteBuffer(string: "12345"))
        #expect(Self.drain(&machine) == [.start(0, "/pub?id=a")])
        machine.answerReady(0, HTTPAnswer(status: .ok), now: Self.seconds(1))
        #expect(Self.drain(&machine) == [.write(200, keepAlive: true), .write(413, keepAlive: false), .close])
        // Nothing more is read or started.
        Self.request(&machine, "/channels-stats", route: Self.stats)
        machine.readRequested()
        #expect(Self.drain(&machine).isEmpty)
    }

    @Test func aDeclaredLengthOverTheLimitIsRefusedBeforeTheBody() {
        var machine = Self.machine(maxBody: 4)
        _ = Self.drain(&machine)
        machine.receivedHead(Self.head(.POST, "/pub?id=a", [("Content-Length", "5")]), route: Self.publish)
        #expect(Self.drain(&machine) == [.write(413, keepAlive: false), .close])
    }

    @Test func aBodyAtTheLimitIsAccepted() {
        var machine = Self.machine(maxBody: 4)
        _ = Self.drain(&machine)
        machine.receivedHead(Self.head(.POST, "/pub?id=a"), route: Self.publish)
        machine.receivedBody(ByteBuffer(string: "12"))
        machine.receivedBody(ByteBuffer(string: "34"))
        machine.receivedEnd()
        var started: HTTPRequest?
        while let action = machine.nextAction() {
            if case .startExchange(_, let request, _) = action { started = request }
        }
        #expect(started.map { String(buffer: $0.body!) } == "1234")
    }

    @Test func continueIsSentOnlyWhenNoAnswerIsOwed() {
        var machine = Self.machine()
        _ = Self.drain(&machine)
        machine.receivedHead(Self.head(.POST, "/pub?id=a", [("Expect", "100-continue")]), route: Self.publish)
        #expect(Self.drain(&machine) == [.sendContinue])
        machine.receivedBody(ByteBuffer(string: "x"))
        machine.receivedEnd()
        _ = Self.drain(&machine)
        machine.receivedHead(Self.head(.POST, "/pub?id=b", [("Expect", "100-continue")]), route: Self.publish)
        #expect(Self.drain(&machine).isEmpty)
    }

    @Test func anUnparsableRequestIsRefusedAfterTheAnswersOwed() {
        var machine = Self.machine()
        _ = Self.drain(&machine)
        Self.request(&machine, "/channels-stats", route: Self.stats)
        _ = Self.drain(&machine)
        machine.parseFailed(.headersTooLarge)
        #expect(Self.drain(&machine).isEmpty)
        machine.answerReady(0, HTTPAnswer(status: .ok), now: Self.seconds(1))
        #expect(Self.drain(&machine) == [.write(200, keepAlive: true), .write(431, keepAlive: false), .close])
        machine.parseFailed(.malformedRequest)
        #expect(Self.drain(&machine).isEmpty)
    }

    @Test func connectionCloseEndsAfterItsAnswer() {
        var machine = Self.machine()
        _ = Self.drain(&machine)
        machine.receivedHead(Self.head(.GET, "/channels-stats", [("Connection", "close")]), route: Self.stats)
        machine.receivedEnd()
        _ = Self.drain(&machine)
        Self.request(&machine, "/more", route: .notFound)
        machine.answerReady(0, HTTPAnswer(status: .ok), now: Self.seconds(1))
        #expect(Self.drain(&machine) == [.write(200, keepAlive: false), .close])
    }

    @Test func anHTTP10RequestWithoutKeepAliveEndsAfterItsAnswer() {
        var machine = Self.machine()
        _ = Self.drain(&machine)
        machine.receivedHead(Self.head(.GET, "/channels-stats", version: .http1_0), route: Self.stats)
        machine.receivedEnd()
        _ = Self.drain(&machine)
        machine.answerReady(0, HTTPAnswer(status: .ok), now: Self.seconds(1))
        #expect(Self.drain(&machine) == [.write(200, keepAlive: false), .close])
    }

    @Test func anAnswerThatClosesTheConnectionDropsWhatFollows() {
        var machine = Self.machine()
        _ = Self.drain(&machine)
        Self.request(&machine, .POST, "/pub?id=a", route: Self.publish)
        Self.request(&machine, .POST, "/pub?id=b", route: Self.publish)
        _ = Self.drain(&machine)
        machine.answerReady(0, HTTPAnswer(status: .serviceUnavailable, closesConnection: true), now: Self.seconds(1))
        #expect(Self.drain(&machine) == [.write(503, keepAlive: false), .close])
        machine.answerReady(1, HTTPAnswer(status: .ok), now: Self.seconds(1))
        #expect(Self.drain(&machine).isEmpty)
    }

    @Test func answersForUnknownOrRepeatedExchangesAreDropped() {
        var machine = Self.machine()
        _ = Self.drain(&machine)
        Self.request(&machine, .POST, "/pub?id=a", route: Self.publish)
        Self.request(&machine, .POST, "/pub?id=b", route: Self.publish)
        _ = Self.drain(&machine)
        machine.answerReady(7, HTTPAnswer(status: .ok), now: Self.seconds(1))
        machine.answerReady(1, HTTPAnswer(status: .ok), now: Self.seconds(1))
        machine.answerReady(1, HTTPAnswer(status: .notFound), now: Self.seconds(1))
        #expect(Self.drain(&machine).isEmpty)
        machine.answerReady(0, HTTPAnswer(status: .ok), now: Self.seconds(1))
        #expect(Self.drain(&machine) == [.write(200, keepAlive: true), .write(200, keepAlive: true), .flush])
    }

    @Test func aSilentConnectionClosesAtTheDeadline() {
        var machine = Self.machine()
        _ = Self.drain(&machine)
        machine.deadlinePassed(now: Self.seconds(10))
        #expect(Self.drain(&machine) == [.close])
    }

    @Test func aRequestHalfSentAtTheDeadlineGets408() {
        var machine = Self.machine()
        _ = Self.drain(&machine)
        machine.receivedHead(Self.head(.POST, "/pub?id=a", [("Content-Length", "10")]), route: Self.publish)
        for _ in 0..<9 { machine.receivedBody(ByteBuffer(string: "x")) }  // a trickle does not extend it
        machine.deadlinePassed(now: Self.seconds(10))
        #expect(Self.drain(&machine) == [.write(408, keepAlive: false), .close])
    }

    @Test func theDeadlineRestartsWhenTheLastAnswerLeavesAndAnEarlyWakeUpSleepsOn() {
        var machine = Self.machine()
        _ = Self.drain(&machine)
        Self.request(&machine, "/channels-stats", route: Self.stats)
        _ = Self.drain(&machine)
        machine.answerReady(0, HTTPAnswer(status: .ok), now: Self.seconds(4))
        _ = Self.drain(&machine)
        machine.deadlinePassed(now: Self.seconds(10))
        #expect(Self.drain(&machine) == [.schedule(14)])
        machine.deadlinePassed(now: Self.seconds(14))
        #expect(Self.drain(&machine) == [.close])
    }

    @Test func noDeadlineWhileARequestIsInFlight() {
        var machine = Self.machine()
        _ = Self.drain(&machine)
        Self.request(&machine, "/lp/ch", route: .subscriber(.longPolling, channelsPath: "ch", forceArguments: false))
        _ = Self.drain(&machine)
        machine.deadlinePassed(now: Self.seconds(60))
        #expect(Self.drain(&machine).isEmpty)
        machine.answerReady(0, HTTPAnswer(status: .notModified), now: Self.seconds(60))
        #expect(Self.drain(&machine) == [.write(304, keepAlive: true), .flush, .schedule(70)])
    }

    @Test func aSubscriberTakesOverOnlyTheOnlyRequestInFlight() {
        var machine = Self.machine(maxPipelined: 1)
        _ = Self.drain(&machine)
        Self.request(&machine, "/ev/a", route: .subscriber(.eventSource, channelsPath: "a", forceArguments: false))
        _ = Self.drain(&machine)
        machine.readRequested()
        #expect(machine.takeOver(1) == .refused)
        #expect(machine.takeOver(0) == .granted(releaseRead: true))
        #expect(machine.isDone)
        Self.request(&machine, "/more", route: .notFound)
        machine.deadlinePassed(now: Self.seconds(60))
        #expect(Self.drain(&machine).isEmpty)
    }

    @Test func aTakeOverBehindOtherRequestsStartedIsRefused() {
        var machine = Self.machine()
        _ = Self.drain(&machine)
        Self.request(&machine, .POST, "/pub?id=a", route: Self.publish)
        Self.request(&machine, .POST, "/pub?id=b", route: Self.publish)
        _ = Self.drain(&machine)
        #expect(machine.takeOver(0) == .refused)
    }

    @Test func shutdownClosesAnIdleConnectionAndEndsABusyOneWithItsLastAnswer() {
        var idle = Self.machine()
        _ = Self.drain(&idle)
        idle.shutdown(closeIdle: true)
        #expect(Self.drain(&idle) == [.close])

        var busy = Self.machine()
        _ = Self.drain(&busy)
        Self.request(&busy, .POST, "/pub?id=a", route: Self.publish)
        Self.request(&busy, .POST, "/pub?id=b", route: Self.publish)
        _ = Self.drain(&busy)
        busy.shutdown(closeIdle: false)
        busy.shutdown(closeIdle: true)
        #expect(Self.drain(&busy).isEmpty)
        busy.answerReady(0, HTTPAnswer(status: .ok), now: Self.seconds(1))
        busy.answerReady(1, HTTPAnswer(status: .ok), now: Self.seconds(1))
        #expect(Self.drain(&busy) == [.write(200, keepAlive: true), .flush, .write(200, keepAlive: false), .close])
    }

    @Test func aClosedConnectionDoesNothingMore() {
        var machine = Self.machine()
        _ = Self.drain(&machine)
        Self.request(&machine, .POST, "/pub?id=a", route: Self.publish)
        machine.closed()
        #expect(Self.drain(&machine).isEmpty)
        machine.answerReady(0, HTTPAnswer(status: .ok), now: Self.seconds(1))
        machine.readRequested()
        machine.parseFailed(.malformedRequest)
        machine.deadlinePassed(now: Self.seconds(20))
        #expect(Self.drain(&machine).isEmpty)
        #expect(machine.isDone)
    }

    /// Random events in any order: the machine never writes answers out of order, never writes
    /// after a close, and never holds more than the limit in flight.
    @Test(arguments: 0..<20)
    func randomEventsKeepTheInvariants(seed: UInt64) {
        var random = SplitMix(seed: seed)
        var machine = Self.machine(maxPipelined: 3, maxBody: 8)
        var started: [Int] = []
        var written: [UInt] = []
        var closed = false
        var now = Self.t0
        for _ in 0..<400 {
            switch random.next() % 9 {
            case 0, 1:
                machine.receivedHead(
                    Self.head(.POST, "/pub"), route: random.next() % 3 == 0 ? Self.stats : Self.publish)
            case 2: machine.receivedBody(ByteBuffer(repeating: 0x61, count: Int(random.next() % 6)))
            case 3, 4: machine.receivedEnd()
            case 5:
                if let id = started.randomElement(using: &random) {
                    // The status carries the id, so the order of writes can be checked.
                    machine.answerReady(
                        id, HTTPAnswer(status: .custom(code: UInt(200 + id), reasonPhrase: "")), now: now)
                }
            case 6: machine.readRequested()
            case 7:
                now = now + .seconds(Int64(random.next() % 4))
                machine.deadlinePassed(now: now)
            default: if random.next() % 20 == 0 { machine.parseFailed(.malformedRequest) }
            }
            while let action = machine.nextAction() {
                #expect(!closed, "an action after the close: \(action)")
                switch action {
                case .startExchange(let id, _, _): started.append(id)
                case .writeAnswer(let answer, _, _):
                    if answer.status.code >= 200 && answer.status.code < 400 { written.append(answer.status.code) }
                case .close: closed = true
                default: break
                }
            }
            if closed { break }
        }
        #expect(written == written.sorted(), "answers out of request order: \(written)")
        #expect(Set(written).count == written.count, "an answer written twice: \(written)")
    }
}
