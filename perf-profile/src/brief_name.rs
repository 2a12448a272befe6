//! Hot-function names short enough for a table cell (terminal tables,
//! the report). Profiles of C++
//! libraries (usearch) name functions with their return type, every
//! template argument and the argument list, hundreds of characters that say
//! less than `max_heap_gt::shift_down`.

use crate::function_family::{short_function_name, without_generics};

/// Longest name kept whole; longer ones lose their generic arguments, then
/// their tail.
const MAX_CHARS: usize = 48;

/// The function's own name: no argument list, no return type, the last two
/// path segments, generics dropped when still too long.
pub fn brief_function_name(name: &str) -> String {
    let head = before_arguments(name);
    let head = after_return_type(head);
    let mut short = short_function_name(head);
    if short.chars().count() > MAX_CHARS {
        short = without_generics(&short);
    }
    if short.trim().is_empty() {
        short = name.to_string();
    }
    if short.chars().count() > MAX_CHARS {
        short = short.chars().take(MAX_CHARS - 1).collect::<String>() + "…";
    }
    short
}

/// Walks `name` tracking `<…>` depth (`->` is not a bracket) and calls
/// `stop` at each depth-0 char; returns the index where it said stop.
fn scan(name: &str, mut stop: impl FnMut(usize, char) -> bool) -> Option<usize> {
    let mut depth = 0usize;
    let mut prev = '\0';
    for (i, c) in name.char_indices() {
        match c {
            '<' => depth += 1,
            '>' if prev != '-' => depth = depth.saturating_sub(1),
            _ if depth == 0 && stop(i, c) => return Some(i),
            _ => {}
        }
        prev = c;
    }
    None
}

fn before_arguments(name: &str) -> &str {
    // A leading `<T as Trait>` has no `(` at depth 0, so this is safe there.
    match scan(name, |i, c| c == '(' && i > 0) {
        Some(i) => &name[..i],
        None => name,
    }
}

fn after_return_type(name: &str) -> &str {
    let mut last_space = None;
    scan(name, |i, c| {
        if c == ' ' {
            last_space = Some(i);
        }
        false
    });
    match last_space {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpp_names_lose_return_type_arguments_and_generics() {
        let heap = "unum::usearch::max_heap_gt<unum::usearch::index_gt<float, unsigned long, unsigned int, unum::usearch::aligned_allocator_gt<char, (unsigned long)64> >::candidate_t, std::less<X> >::shift_down(unsigned long)";
        assert_eq!(brief_function_name(heap), "max_heap_gt::shift_down");
        let invoke = "float unum::usearch::metric_punned_t::invoke_numkong<double, false>(unsigned long, unsigned long) const";
        assert_eq!(
            brief_function_name(invoke),
            "metric_punned_t::invoke_numkong<double, false>"
        );
    }

    #[test]
    fn rust_names_stay_readable() {
        assert_eq!(
            brief_function_name("pack_generic_inner_loop<f32, 8, 16>"),
            "pack_generic_inner_loop<f32, 8, 16>"
        );
        assert_eq!(brief_function_name("_mm256_fmadd_ps"), "_mm256_fmadd_ps");
        assert_eq!(brief_function_name("{closure#1}"), "{closure#1}");
        assert_eq!(
            brief_function_name("core::ops::function::FnOnce::call_once"),
            "FnOnce::call_once"
        );
    }
}
