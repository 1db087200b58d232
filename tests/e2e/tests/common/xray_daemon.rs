//! A stand-in for the X-Ray daemon: a UDP socket on 127.0.0.1 and a thread that keeps every
//! datagram it receives. Point `AWS_XRAY_DAEMON_ADDRESS` at [`XRayDaemon::address`].

use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::Value;

/// The header line the daemon protocol puts before each document.
const HEADER: &[u8] = b"{\"format\":\"json\",\"version\":1}\n";

pub struct XRayDaemon {
    pub port: u16,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl XRayDaemon {
    pub fn start() -> XRayDaemon {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = socket.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        // Ends with the test process.
        thread::spawn(move || {
            let mut buf = vec![0u8; 70 * 1024];
            while let Ok(n) = socket.recv(&mut buf) {
                sink.lock().unwrap().push(buf[..n].to_vec());
            }
        });
        XRayDaemon { port, received }
    }

    /// `127.0.0.1:<port>`, for `AWS_XRAY_DAEMON_ADDRESS`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The documents received (raw and parsed), once there are at least `n` (or after 10 s).
    /// Each datagram must fit the daemon's 64 KiB and start with the header line.
    pub fn documents(&self, n: usize) -> Vec<(Vec<u8>, Value)> {
        for _ in 0..200 {
            if self.received.lock().unwrap().len() >= n {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|d| {
                assert!(d.len() <= 64 * 1024);
                let body = d.strip_prefix(HEADER).expect("the daemon's header line");
                (body.to_vec(), serde_json::from_slice(body).expect("JSON"))
            })
            .collect()
    }
}
