//! A key set (JWKS) server on 127.0.0.1 for the JWT tests: it answers every path with the
//! current document (or a 500), counts requests, and stops when dropped.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the key set server answers.
#[derive(Clone)]
pub enum Serve {
    Doc(String),
    Status500,
}

/// A key set server on 127.0.0.1: every path answers the current [`Serve`]; requests are
/// counted. It stops when dropped.
pub struct KeyServer {
    pub port: u16,
    serve: Arc<Mutex<Serve>>,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl KeyServer {
    pub fn start(serve: Serve) -> KeyServer {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let serve = Arc::new(Mutex::new(serve));
        let hits = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, h, st) = (serve.clone(), hits.clone(), stop.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let mut buf = [0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                h.fetch_add(1, Ordering::SeqCst);
                let reply = match s.lock().unwrap().clone() {
                    Serve::Doc(doc) => format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{doc}",
                        doc.len()
                    ),
                    Serve::Status500 => {
                        "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned()
                    }
                };
                let _ = conn.write_all(reply.as_bytes());
            }
        });
        KeyServer {
            port,
            serve,
            hits,
            stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn set(&self, serve: Serve) {
        *self.serve.lock().unwrap() = serve;
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for KeyServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
