//! Batched UDP IO for the media workers: `recvmmsg` reads up to [`BATCH`] datagrams per system call and `sendmmsg`
//! writes up to [`BATCH`] datagrams, to any mix of destinations, per call.
//!
//! Why libc and not quinn-udp: an SFU's sends fan one packet out to many subscribers, i.e. to many destinations.
//! quinn-udp batches only towards one destination (GSO segments) and sends one `sendmsg` per destination, which
//! saves nothing here; `sendmmsg` batches across destinations. GSO is not used for the same reason (its segments
//! share one destination and one size, while forwarded RTP packets vary in size).
//!
//! Nothing here allocates: the message headers live on the stack and point into the caller's buffers. Other
//! platforms get the same interface over plain `recv_from` / `send_to`.

use std::io;
use std::net::SocketAddr;

/// Datagrams per system call.
pub const BATCH: usize = 32;
/// Largest datagram read; WebRTC keeps packets under the path MTU.
pub const MAX_DATAGRAM: usize = 2048;

/// Reusable receive buffers: `BATCH` slots of [`MAX_DATAGRAM`] bytes.
pub struct RecvBuffers {
    data: Vec<u8>,
    lens: [usize; BATCH],
    sources: [Option<SocketAddr>; BATCH],
}

impl Default for RecvBuffers {
    fn default() -> Self {
        RecvBuffers {
            data: vec![0; BATCH * MAX_DATAGRAM],
            lens: [0; BATCH],
            sources: [None; BATCH],
        }
    }
}

impl RecvBuffers {
    /// Datagram `i` of the last batch and where it came from (`None` for an address family we do not use).
    pub fn datagram(&self, i: usize) -> (Option<SocketAddr>, &[u8]) {
        let start = i * MAX_DATAGRAM;
        (self.sources[i], &self.data[start..start + self.lens[i]])
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use super::*;
    use std::mem::{size_of, zeroed};
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
    use std::os::fd::AsRawFd;

    fn to_sockaddr(addr: &SocketAddr, storage: &mut libc::sockaddr_storage) -> libc::socklen_t {
        match addr {
            SocketAddr::V4(a) => {
                // SAFETY: sockaddr_storage is large enough and suitably aligned for sockaddr_in.
                let sin = unsafe { &mut *(storage as *mut libc::sockaddr_storage as *mut libc::sockaddr_in) };
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_port = a.port().to_be();
                sin.sin_addr = libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                };
                size_of::<libc::sockaddr_in>() as libc::socklen_t
            }
            SocketAddr::V6(a) => {
                // SAFETY: as above, for sockaddr_in6.
                let sin6 = unsafe { &mut *(storage as *mut libc::sockaddr_storage as *mut libc::sockaddr_in6) };
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_port = a.port().to_be();
                sin6.sin6_flowinfo = a.flowinfo();
                sin6.sin6_addr = libc::in6_addr {
                    s6_addr: a.ip().octets(),
                };
                sin6.sin6_scope_id = a.scope_id();
                size_of::<libc::sockaddr_in6>() as libc::socklen_t
            }
        }
    }

    fn from_sockaddr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
        match storage.ss_family as libc::c_int {
            libc::AF_INET => {
                // SAFETY: the kernel wrote a sockaddr_in (family checked).
                let sin = unsafe { &*(storage as *const libc::sockaddr_storage as *const libc::sockaddr_in) };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(sin.sin_port))))
            }
            libc::AF_INET6 => {
                // SAFETY: the kernel wrote a sockaddr_in6 (family checked).
                let sin6 = unsafe { &*(storage as *const libc::sockaddr_storage as *const libc::sockaddr_in6) };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                Some(SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    u16::from_be(sin6.sin6_port),
                    sin6.sin6_flowinfo,
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    /// Reads up to [`BATCH`] datagrams without blocking; `WouldBlock` when there are none.
    pub fn recv_batch(socket: &impl AsRawFd, bufs: &mut RecvBuffers) -> io::Result<usize> {
        // SAFETY: zeroed mmsghdr/iovec/sockaddr_storage are valid "empty" values.
        let mut addrs: [libc::sockaddr_storage; BATCH] = unsafe { zeroed() };
        let mut iovecs: [libc::iovec; BATCH] = unsafe { zeroed() };
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        for (i, chunk) in bufs.data.chunks_exact_mut(MAX_DATAGRAM).enumerate() {
            iovecs[i] = libc::iovec {
                iov_base: chunk.as_mut_ptr().cast(),
                iov_len: MAX_DATAGRAM,
            };
            msgs[i].msg_hdr.msg_name = (&mut addrs[i] as *mut libc::sockaddr_storage).cast();
            msgs[i].msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            msgs[i].msg_hdr.msg_iov = &mut iovecs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every pointer refers to a live buffer of the stated length for the duration of the call.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                msgs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        for i in 0..n {
            bufs.lens[i] = (msgs[i].msg_len as usize).min(MAX_DATAGRAM);
            bufs.sources[i] = from_sockaddr(&addrs[i]);
        }
        Ok(n)
    }

    /// Writes up to [`BATCH`] of `packets` without blocking; returns how many went out (at least one), or the
    /// error of the first one (`WouldBlock` when the socket buffer is full).
    pub fn send_batch(socket: &impl AsRawFd, packets: &[(SocketAddr, Vec<u8>)]) -> io::Result<usize> {
        let count = packets.len().min(BATCH);
        if count == 0 {
            return Ok(0);
        }
        // SAFETY: as in recv_batch.
        let mut addrs: [libc::sockaddr_storage; BATCH] = unsafe { zeroed() };
        let mut iovecs: [libc::iovec; BATCH] = unsafe { zeroed() };
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        for (i, (destination, contents)) in packets[..count].iter().enumerate() {
            let len = to_sockaddr(destination, &mut addrs[i]);
            iovecs[i] = libc::iovec {
                // sendmmsg only reads the buffer.
                iov_base: contents.as_ptr() as *mut libc::c_void,
                iov_len: contents.len(),
            };
            msgs[i].msg_hdr.msg_name = (&mut addrs[i] as *mut libc::sockaddr_storage).cast();
            msgs[i].msg_hdr.msg_namelen = len;
            msgs[i].msg_hdr.msg_iov = &mut iovecs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every pointer refers to a live buffer of the stated length for the duration of the call.
        let n = unsafe {
            libc::sendmmsg(
                socket.as_raw_fd(),
                msgs.as_mut_ptr(),
                count as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// Asks for `bytes` of kernel socket buffer each way (the kernel caps it at net.core.[rw]mem_max): bursts of
    /// a video keyframe to many subscribers must not overflow the default ~200 KiB.
    pub fn grow_buffers(socket: &impl AsRawFd, bytes: usize) {
        let value = bytes.min(i32::MAX as usize) as libc::c_int;
        for option in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
            // SAFETY: a plain int option on a valid socket.
            unsafe {
                libc::setsockopt(
                    socket.as_raw_fd(),
                    libc::SOL_SOCKET,
                    option,
                    (&value as *const libc::c_int).cast(),
                    size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::*;

    /// One datagram per call (no `recvmmsg` here).
    pub fn recv_batch(socket: &std::net::UdpSocket, bufs: &mut RecvBuffers) -> io::Result<usize> {
        let (len, source) = socket.recv_from(&mut bufs.data[..MAX_DATAGRAM])?;
        bufs.lens[0] = len;
        bufs.sources[0] = Some(source);
        Ok(1)
    }

    pub fn send_batch(socket: &std::net::UdpSocket, packets: &[(SocketAddr, Vec<u8>)]) -> io::Result<usize> {
        let Some((destination, contents)) = packets.first() else {
            return Ok(0);
        };
        socket.send_to(contents, destination)?;
        Ok(1)
    }

    pub fn grow_buffers(_socket: &std::net::UdpSocket, _bytes: usize) {}
}

pub use imp::{grow_buffers, recv_batch, send_batch};

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_batch_goes_out_to_several_destinations_and_comes_back_in_one_read() {
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let receivers: Vec<_> = (0..3)
            .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        let mut packets = Vec::new();
        for round in 0..4u8 {
            for r in &receivers {
                packets.push((r.local_addr().unwrap(), vec![round; 100 + round as usize]));
            }
        }
        let mut sent = 0;
        while sent < packets.len() {
            sent += send_batch(&sender, &packets[sent..]).unwrap();
        }
        assert_eq!(sent, 12);
        let mut bufs = RecvBuffers::default();
        for r in &receivers {
            r.set_nonblocking(true).unwrap();
            let mut got = 0;
            for _ in 0..100 {
                match recv_batch(r, &mut bufs) {
                    Ok(n) => {
                        for i in 0..n {
                            let (source, data) = bufs.datagram(i);
                            assert_eq!(source, Some(sender.local_addr().unwrap()));
                            assert_eq!(data.len(), 100 + data[0] as usize);
                        }
                        got += n;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if got == 4 {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            assert_eq!(got, 4, "every round reached every destination");
        }
        assert_eq!(
            recv_batch(&receivers[0], &mut bufs).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
    }
}
