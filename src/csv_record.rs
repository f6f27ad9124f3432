//! Reading one CSV record out of a larger buffer, as often as once per case:
//! a recorded decision's row, a case's text read back from its corpus file.
//! Building a CSV parser (its state machine) costs more than reading one short
//! record with it, so each thread keeps one and resets it per record.

use std::cell::RefCell;

thread_local! {
    /// This thread's parser and its output buffers.
    static ROW_PARSER: RefCell<(csv_core::Reader, Vec<u8>, Vec<usize>)> =
        RefCell::new((csv_core::Reader::new(), vec![0; 256], vec![0; 16]));
}

/// The CSV record `input` starts with, read with the `csv` crate's default
/// settings (those every CSV file read back here was validated with), or
/// `None` if there is none.
pub fn first_record(input: &[u8]) -> Option<csv::StringRecord> {
    ROW_PARSER.with_borrow_mut(|(reader, output, ends)| {
        reader.reset();
        let (mut read, mut written, mut fields) = (0, 0, 0);
        loop {
            let (result, nin, nout, nend) =
                reader.read_record(&input[read..], &mut output[written..], &mut ends[fields..]);
            (read, written, fields) = (read + nin, written + nout, fields + nend);
            match result {
                csv_core::ReadRecordResult::Record => break,
                csv_core::ReadRecordResult::End => return None,
                // an empty rest of input ends the record on the next call
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => output.resize(output.len() * 2, 0),
                csv_core::ReadRecordResult::OutputEndsFull => ends.resize(ends.len() * 2, 0),
            }
        }
        let mut record = csv::ByteRecord::with_capacity(written, fields);
        let mut start = 0;
        for &end in &ends[..fields] {
            record.push_field(&output[start..end]);
            start = end;
        }
        csv::StringRecord::from_byte_record(record).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_reads_back_as_the_csv_reader_reads_it() {
        let long = "y".repeat(1000);
        let many = (0..40).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        let rows = [
            "a,0.5,plain\n".to_string(),
            "b,0.25,\"quoted, with \"\"quotes\"\" and\nnewline\"\r\nnext,1,x\n".to_string(),
            format!("c,0.1,{long}\n"),
            format!("{many}\n"),
            "d,0.9,last row without newline".to_string(),
            "e,0.9,\"unterminated".to_string(),
        ];
        for row in &rows {
            let expected = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(row.as_bytes())
                .records()
                .next()
                .map(|r| r.expect("record"));
            assert_eq!(first_record(row.as_bytes()), expected, "{row:?}");
        }
        assert_eq!(first_record(b""), None);
    }
}
