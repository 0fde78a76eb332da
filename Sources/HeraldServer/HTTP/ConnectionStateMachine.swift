import HeraldCore
import NIOCore
import NIOHTTP1

/// The request phase of one HTTP connection, as a value: what has been read, which requests
/// (exchanges) are in flight, which answers may leave, when the connection must end.
///
/// Every event returns nothing and queues actions; the connection handler carries them out in
/// order (``nextAction()``) and feeds back what happened. Nothing here touches a channel, so
/// every rule is tested with plain values and an explicit clock:
///
/// - Answers leave in request order. Pipelined publishes run side by side; any other request
///   waits for every answer before it and runs alone.
/// - With `maxPipelinedRequests` exchanges in flight the read is held back, so the rest waits in
///   the socket. One read may still carry more requests than that: they wait here, and no more
///   than `maxPipelinedRequests` run at a time.
/// - A body larger than `maxBodySize` is refused before it is read, after the answers owed.
/// - A request must be complete within `requestTimeout` of the moment the connection is ready
///   for it (opened, or its earlier answers all sent): a trickle of bytes cannot extend it.
/// - A request that cannot be parsed is refused (400 or 431) after the answers owed, then the
///   connection ends; so does a request with `Connection: close`.
/// - A live subscriber may take the connection over only while its request is the only one in
///   flight.
struct ConnectionStateMachine {
    typealias ExchangeID = Int

    struct Configuration {
        var maxPipelinedRequests: Int
        var maxBodySize: Int
        var requestTimeout: TimeAmount
    }

    enum Action {
        /// `100 Continue`, for a client that waits for it before sending its body.
        case sendContinue(HTTPVersion)
        /// Run the endpoint of this request; its answer comes back through ``answerReady(_:_:now:)``.
        case startExchange(ExchangeID, HTTPRequest, Route)
        /// Write one answer; without keep-alive it says `Connection: close`.
        case writeAnswer(HTTPAnswer, version: HTTPVersion, keepAlive: Bool)
        /// Flush what was written.
        case flush
        /// Flush, then close the connection (forced when the flush does not finish in time).
        case close
        /// Ask the channel for more bytes.
        case read
        /// Call ``deadlinePassed(now:)`` at this time.
        case scheduleDeadline(NIODeadline)
    }

    /// Whether a subscriber may take the connection over.
    enum TakeOver: Equatable {
        /// Yes; `releaseRead`: a read was held back and must be asked for now.
        case granted(releaseRead: Bool)
        /// No: other requests are in flight, or the connection is ending.
        case refused
    }

    private enum Reading {
        /// Between requests.
        case idle
        /// A head was read; its body (bounded) is arriving.
        case receiving(HTTPRequestHead, Route, ByteBuffer?)
        /// Nothing more is read: the connection ends after the answers owed.
        case discarding
    }

    private enum Phase {
        /// Reading requests and answering them.
        case serving
        /// The last answer is written; the connection is closing.
        case closing
        /// A subscriber owns the connection, or it closed: nothing is done here any more.
        case done
    }

    private struct Exchange {
        let id: ExchangeID
        let version: HTTPVersion
        let keepAlive: Bool
        /// Runs while earlier concurrent exchanges are in flight (a publish).
        let concurrent: Bool
        /// Until it starts: the request and where it goes.
        var pending: (HTTPRequest, Route)?
        var answer: HTTPAnswer?
    }

    let configuration: Configuration
    private var phase = Phase.serving
    private var reading = Reading.idle
    private var exchanges = CircularBuffer<Exchange>(initialCapacity: 2)
    private var nextID: ExchangeID = 0
    private var readHeld = false
    private var draining = false
    /// When the request being waited for must be complete; nil while requests are in flight.
    private var deadline: NIODeadline?
    /// The wake-up already asked for: one at a time, so a busy connection does not pay a timer per request.
    private var scheduledWakeUp: NIODeadline?
    private var actions = CircularBuffer<Action>(initialCapacity: 4)

    /// A connection that has just been accepted: its first request is due within the timeout.
    init(configuration: Configuration, now: NIODeadline) {
        self.configuration = configuration
        armDeadline(now: now)
    }

    /// The next action to carry out, in order; nil when there is none.
    mutating func nextAction() -> Action? {
        actions.popFirst()
    }

    /// Whether requests are in flight (a connection with none is idle).
    var hasExchanges: Bool { !exchanges.isEmpty }

    /// Whether a subscriber owns the connection, or it has closed.
    var isDone: Bool {
        if case .done = phase { return true }
        return false
    }

    // MARK: Reading

    mutating func receivedHead(_ head: HTTPRequestHead, route: Route) {
        guard case .serving = phase, case .idle = reading else { return }
        if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > configuration.maxBodySize
        {
            return refuse(.messageTooLarge, version: head.version)
        }
        reading = .receiving(head, route, nil)
        // With answers still owed, an interim response would jump the queue: the client sends on its own.
        if exchanges.isEmpty, head.headers.first(name: "expect")?.lowercased() == "100-continue" {
            actions.append(.sendContinue(head.version))
        }
    }

    mutating func receivedBody(_ chunk: ByteBuffer) {
        guard case .serving = phase, case .receiving(let head, let route, var body) = reading else { return }
        var chunk = chunk
        if (body?.readableBytes ?? 0) + chunk.readableBytes > configuration.maxBodySize {
            return refuse(.messageTooLarge, version: head.version)
        }
        reading = .discarding  // leave no second reference to `body` while it grows
        if body == nil {
            body = chunk
        } else {
            body!.writeBuffer(&chunk)
        }
        reading = .receiving(head, route, body)
    }

    mutating func receivedEnd() {
        guard case .serving = phase, case .receiving(let head, let route, let body) = reading else { return }
        reading = head.isKeepAlive ? .idle : .discarding
        deadline = nil
        exchanges.append(
            Exchange(
                id: nextID, version: head.version, keepAlive: head.isKeepAlive,
                concurrent: route.runsConcurrently(method: head.method),
                pending: (HTTPRequest(head: head, body: body), route)))
        nextID += 1
        startReady()
    }

    /// The bytes could not be parsed as HTTP: refused after the answers owed, then the end.
    mutating func parseFailed(_ error: ProtocolError) {
        guard case .serving = phase else { return }
        if case .discarding = reading { return }
        refuse(error, version: .http1_1)
    }

    /// The channel asks for more bytes: granted while fewer than the limit are in flight.
    mutating func readRequested() {
        guard case .serving = phase else { return }
        if exchanges.count >= configuration.maxPipelinedRequests {
            readHeld = true
        } else {
            actions.append(.read)
        }
    }

    // MARK: Answering

    /// The endpoint of exchange `id` answered. Answers leave once every earlier one has; an
    /// answer for an exchange that is no longer in flight is dropped.
    mutating func answerReady(_ id: ExchangeID, _ answer: HTTPAnswer, now: NIODeadline) {
        guard case .serving = phase,
            let index = exchanges.firstIndex(where: { $0.id == id }), exchanges[index].answer == nil,
            exchanges[index].pending == nil
        else { return }
        exchanges[index].answer = answer
        writeReady(now: now)
        // An answer out of order writes nothing, but its exchange no longer runs: one waiting may start.
        startReady()
    }

    /// A live subscriber wants the connection for exchange `id`.
    mutating func takeOver(_ id: ExchangeID) -> TakeOver {
        guard case .serving = phase, exchanges.first?.id == id, exchanges.first?.answer == nil,
            !exchanges.dropFirst().contains(where: { $0.pending == nil })
        else { return .refused }
        phase = .done
        exchanges.removeAll()
        deadline = nil
        let release = readHeld
        readHeld = false
        return .granted(releaseRead: release)
    }

    // MARK: Time and shutdown

    /// The wake-up asked for with ``Action/scheduleDeadline(_:)`` has come.
    mutating func deadlinePassed(now: NIODeadline) {
        scheduledWakeUp = nil
        guard case .serving = phase, let deadline else { return }
        guard now >= deadline else { return scheduleWakeUp(at: deadline) }
        self.deadline = nil
        switch reading {
        case .receiving(let head, _, _):
            refuse(.requestTimeout, version: head.version)
        case .idle, .discarding:
            phase = .closing
            actions.append(.close)
        }
    }

    /// The node is stopping: with `closeIdle`, a connection with nothing in flight closes now;
    /// otherwise the answers in flight are sent and the last one closes the connection.
    mutating func shutdown(closeIdle: Bool) {
        guard case .serving = phase else { return }
        draining = true
        if closeIdle, exchanges.isEmpty {
            phase = .closing
            actions.append(.close)
        }
    }

    /// The connection is gone: nothing more is done.
    mutating func closed() {
        phase = .done
        exchanges.removeAll()
        actions.removeAll()
        deadline = nil
    }

    // MARK: Internals

    /// Starts what may run now: the first exchange waiting, and concurrent ones behind concurrent
    /// ones while fewer than `maxPipelinedRequests` run.
    private mutating func startReady() {
        guard case .serving = phase else { return }
        var onlyConcurrentBefore = true
        var running = exchanges.count(where: { $0.pending == nil && $0.answer == nil })
        var index = exchanges.startIndex
        while index < exchanges.endIndex {
            if exchanges[index].pending == nil {
                onlyConcurrentBefore = onlyConcurrentBefore && exchanges[index].concurrent
            } else {
                let first = index == exchanges.startIndex
                let mayJoin = exchanges[index].concurrent && onlyConcurrentBefore
                guard first || (mayJoin && running < configuration.maxPipelinedRequests) else { return }
                let (request, route) = exchanges[index].pending!
                exchanges[index].pending = nil
                running += 1
                actions.append(.startExchange(exchanges[index].id, request, route))
                onlyConcurrentBefore = onlyConcurrentBefore && exchanges[index].concurrent
            }
            index = exchanges.index(after: index)
        }
    }

    /// Writes the answers that are next in order, flushes once; then starts what waited for them.
    /// - Parameter now: the time, to arm the next request's deadline (nil: the connection ends).
    private mutating func writeReady(now: NIODeadline?) {
        var wrote = false
        while let first = exchanges.first, let answer = first.answer {
            exchanges.removeFirst()
            let keepAlive = first.keepAlive && !answer.closesConnection && !(draining && exchanges.isEmpty)
            actions.append(.writeAnswer(answer, version: first.version, keepAlive: keepAlive))
            if !keepAlive {
                phase = .closing
                exchanges.removeAll()
                deadline = nil
                actions.append(.close)
                return
            }
            wrote = true
        }
        guard wrote else { return }
        actions.append(.flush)
        if exchanges.isEmpty, let now { armDeadline(now: now) }
        startReady()
        if readHeld, exchanges.count < configuration.maxPipelinedRequests {
            readHeld = false
            actions.append(.read)
        }
    }

    /// Refuses what is being read: the answer leaves after those owed, then the connection ends.
    private mutating func refuse(_ error: ProtocolError, version: HTTPVersion) {
        reading = .discarding
        exchanges.append(
            Exchange(
                id: nextID, version: version, keepAlive: false, concurrent: false, pending: nil,
                answer: HTTPAnswer(error: error, closesConnection: true)))
        nextID += 1
        writeReady(now: nil)
    }

    private mutating func armDeadline(now: NIODeadline) {
        let due = now + configuration.requestTimeout
        deadline = due
        if scheduledWakeUp == nil { scheduleWakeUp(at: due) }
    }

    private mutating func scheduleWakeUp(at time: NIODeadline) {
        scheduledWakeUp = time
        actions.append(.scheduleDeadline(time))
    }
}
