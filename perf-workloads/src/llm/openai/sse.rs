//! Server-sent events as OpenAI-compatible servers stream them: `data:`
//! lines, events separated by a blank line, `data: [DONE]` at the end. Each
//! event's JSON carries the next piece of text (`choices[0].text` for
//! completions, `choices[0].delta.content` for chat).

use std::io::BufRead;

/// One streamed event.
#[derive(Debug, Clone, PartialEq)]
pub enum SseEvent {
    /// A completion chunk: its text and whether it closes the choice.
    Chunk { text: String, finished: bool },
    /// `data: [DONE]`.
    Done,
}

/// Reads the next event from `reader`; `Ok(None)` at the end of the stream.
/// Errors are one line saying what was wrong with the stream.
pub fn next_event(reader: &mut impl BufRead) -> Result<Option<SseEvent>, SseError> {
    let mut data = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).map_err(SseError::Io)?;
        let text = line.trim_end_matches(['\r', '\n']);
        if n == 0 || text.is_empty() {
            if data.is_empty() {
                if n == 0 {
                    return Ok(None);
                }
                continue; // blank lines between events
            }
            return parse_data(&data).map(Some);
        }
        if text.starts_with(':') {
            continue; // comment / keep-alive
        }
        if let Some(value) = text.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(value.strip_prefix(' ').unwrap_or(value));
        } else if !(text.starts_with("event:")
            || text.starts_with("id:")
            || text.starts_with("retry:"))
        {
            return Err(SseError::Malformed(format!(
                "line is not a server-sent event field: {}",
                clip(text)
            )));
        }
    }
}

#[derive(Debug)]
pub enum SseError {
    Io(std::io::Error),
    Malformed(String),
}

fn clip(s: &str) -> String {
    let cut: String = s.chars().take(80).collect();
    if cut.len() < s.len() {
        format!("{cut}...")
    } else {
        cut
    }
}

fn parse_data(data: &str) -> Result<SseEvent, SseError> {
    if data.trim() == "[DONE]" {
        return Ok(SseEvent::Done);
    }
    let v: serde_json::Value = serde_json::from_str(data).map_err(|e| {
        SseError::Malformed(format!("event data is not JSON ({e}): {}", clip(data)))
    })?;
    if let Some(err) = v.get("error") {
        return Err(SseError::Malformed(format!(
            "server sent an error event: {}",
            clip(&err.to_string())
        )));
    }
    let choice = v
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| SseError::Malformed(format!("event has no choices[0]: {}", clip(data))))?;
    let text = choice
        .get("text")
        .or_else(|| choice.get("delta").and_then(|d| d.get("content")))
        .and_then(|t| t.as_str())
        .unwrap_or_default()
        .to_string();
    let finished = choice.get("finish_reason").is_some_and(|f| !f.is_null());
    Ok(SseEvent::Chunk { text, finished })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(s: &str) -> Vec<Result<Option<SseEvent>, String>> {
        let mut r = std::io::Cursor::new(s.as_bytes().to_vec());
        let mut out = Vec::new();
        loop {
            let e = next_event(&mut r).map_err(|e| format!("{e:?}"));
            let end = matches!(e, Ok(None) | Err(_));
            out.push(e);
            if end {
                return out;
            }
        }
    }

    #[test]
    fn completions_and_chat_chunks_and_done() {
        let s = ": ping\n\ndata: {\"choices\":[{\"text\":\"Hi\",\"finish_reason\":null}]}\n\n\
                 data: {\"choices\":[{\"delta\":{\"content\":\" there\"},\"finish_reason\":\"length\"}]}\r\n\r\n\
                 data: [DONE]\n\n";
        let e = events(s);
        assert_eq!(
            e[0].as_ref().unwrap(),
            &Some(SseEvent::Chunk {
                text: "Hi".into(),
                finished: false
            })
        );
        assert_eq!(
            e[1].as_ref().unwrap(),
            &Some(SseEvent::Chunk {
                text: " there".into(),
                finished: true
            })
        );
        assert_eq!(e[2].as_ref().unwrap(), &Some(SseEvent::Done));
        assert_eq!(e[3].as_ref().unwrap(), &None);
    }

    #[test]
    fn garbage_is_malformed() {
        let e = events("data: {not json}\n\n");
        assert!(e[0].as_ref().unwrap_err().contains("not JSON"), "{e:?}");
        let e = events("<html>oops</html>\n");
        assert!(
            e[0].as_ref()
                .unwrap_err()
                .contains("not a server-sent event"),
            "{e:?}"
        );
        let e = events("data: {\"object\":\"x\"}\n\n");
        assert!(e[0].as_ref().unwrap_err().contains("no choices"), "{e:?}");
    }
}
