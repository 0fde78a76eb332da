extension Array where Element == UInt8 {
    /// Makes room for `extra` more bytes, growing geometrically.
    ///
    /// `reserveCapacity` alone allocates exactly what is asked, so calling it before every append
    /// (once per rendered line or placeholder) would copy the buffer each time: quadratic output.
    mutating func reserveAdditional(_ extra: Int) {
        let needed = count + extra
        if capacity < needed { reserveCapacity(Swift.max(needed, capacity * 2)) }
    }
}
