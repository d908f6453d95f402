//! Refocuses a still image with its disparity map through the `refocus` element.
//!
//! ```text
//! cargo run --release --example refocus_still -- IMAGE.png DISPARITY.png [--focus PX]
//!     [--aperture A] [--min-disparity PX] [--max-disparity PX] [--max-kernel K] OUT.png
//! ```
//! DISPARITY.png is 16-bit grey, disparity x 256 (KITTI). The pipeline it runs:
//! `filesrc ! pngdec ! videoconvert ! refocus.sink`, `filesrc ! pngdec ! videoconvert !
//! refocus.sink_disparity`, `refocus ! videoconvert ! pngenc ! filesink`.

use anyhow::{Context, Result, bail};
use gst::prelude::*;

fn main() -> Result<()> {
    let mut positional = Vec::new();
    let mut properties = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if let Some(name) = arg.strip_prefix("--") {
            let value = args
                .next()
                .with_context(|| format!("--{name} needs a value"))?;
            let property = match name {
                "focus" => "focus-disparity",
                "aperture" | "min-disparity" | "max-disparity" | "max-kernel" => name,
                _ => bail!("unknown option --{name}"),
            };
            properties.push(format!("{property}={value}"));
        } else {
            positional.push(arg);
        }
    }
    let [image, disparity, output] = positional.as_slice() else {
        bail!(
            "usage: refocus_still IMAGE.png DISPARITY.png [--focus PX] [--aperture A] [--max-disparity PX] OUT.png"
        );
    };

    gst::init()?;
    gststerefo::plugin_register_static()?;
    let description = format!(
        "refocus name=r {properties} ! videoconvert ! pngenc ! filesink location=\"{output}\" \
         filesrc location=\"{image}\" ! pngdec ! videoconvert ! video/x-raw,format=RGBA ! r.sink \
         filesrc location=\"{disparity}\" ! pngdec ! videoconvert ! video/x-raw,format=GRAY16_LE ! r.sink_disparity",
        properties = properties.join(" ")
    );
    let pipeline = gst::parse::launch(&description)?;
    pipeline.set_state(gst::State::Playing)?;
    let bus = pipeline.bus().context("pipeline without bus")?;
    let result = loop {
        let Some(message) = bus.timed_pop(gst::ClockTime::from_seconds(300)) else {
            break Err(anyhow::anyhow!("no end of stream after 5 minutes"));
        };
        match message.view() {
            gst::MessageView::Eos(_) => break Ok(()),
            gst::MessageView::Error(e) => {
                break Err(anyhow::anyhow!("{} ({:?})", e.error(), e.debug()));
            }
            _ => {}
        }
    };
    pipeline.set_state(gst::State::Null)?;
    result?;
    println!("wrote {output}");
    Ok(())
}
