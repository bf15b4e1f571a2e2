package main

import "strings"

// categoryRule maps Icecat items to a category path. The item's
// attr_t_product_type is tried first, then attr_t_type, then its title: for
// each, the first rule with a keyword found in the lower-cased text wins.
// Keywords match at word starts (" "+keyword), so "ink" does not match
// "pink" (but does match "inkjet").
type categoryRule struct {
	keywords []string
	path     []string
}

// icecatRules is the small, readable category tree the demo catalog uses
// for Icecat items (which carry no category). Order matters: specific
// rules come before general ones.
var icecatRules = []categoryRule{
	{[]string{"label", "paper", "envelope", "photo paper", "film", "negative storage", "transparenc"}, []string{"Office", "Paper & Labels"}},
	{[]string{"toner", "ink", "printhead", "drum", "cartridge", "ribbon", "fuser", "maintenance kit", "transfer kit", "transfer belt", "staple", "waste toner", "imaging unit", "developer", "photoconductor", "roller kit", "singlepack", "multipack", "print head", "original", "compatible"}, []string{"Printing", "Ink & Toner"}},
	{[]string{"printer", "multifunctional", "all-in-one printer", "laserjet", "officejet", "deskjet", "plotter", "designjet", "scanner", "scanjet", "fax", "output stacker", "finisher", "duplex", "paper tray", "sheet feeder", "sheet feed", "sheets", "drawer", "auto-document-feeder", "document feeder"}, []string{"Printing", "Printers & Scanners"}},
	{[]string{"cd-r", "dvd-r", "dvd+r", "dvd-rw", "dvd+rw", "bd-r", "blu-ray disc", "cd-rw", "data tape", "lto"}, []string{"Storage", "Optical & Tape Media"}},
	{[]string{"memory card", "microsd", "sdhc", "sdxc", "usb flash drive", "flash drive"}, []string{"Storage", "Memory Cards & USB Drives"}},
	{[]string{"hdd", "optical disc drive", "disc drive", "hard drive", "internal hard", "external hard", "ssd", "solid state", "nas", "storage server", "raid", "disk array"}, []string{"Storage", "Drives & NAS"}},
	{[]string{"memory module", "sdram", "ddr", "so-dimm", "dimm"}, []string{"Computers", "Components", "Memory"}},
	{[]string{"processor", "cpu"}, []string{"Computers", "Components", "Processors"}},
	{[]string{"desktop board", "motherboard", "server/workstation board", "mainboard"}, []string{"Computers", "Components", "Motherboards"}},
	{[]string{"graphics card", "video card", "geforce", "radeon", "quadro"}, []string{"Computers", "Components", "Graphics Cards"}},
	{[]string{"fan", "cooler", "heatsink", "radiator", "thermal paste", "power supply", "psu", "chassis", "computer case", "bezel", "drive bay", "cpu holder"}, []string{"Computers", "Components", "Cases, Cooling & Power"}},
	{[]string{"notebook", "laptop", "chromebook", "netbook", "hybrid (2-in-1)", "mobile workstation", "ultrabook"}, []string{"Computers", "Laptops"}},
	{[]string{"notebook spare part", "spare", "battery", "ac adapter", "power adapter", "charger", "docking", "port replicator", "keyboard cover"}, []string{"Computers", "Laptop Accessories"}},
	{[]string{"server", "poweredge", "proliant"}, []string{"Computers", "Servers"}},
	{[]string{"workstation", "all-in-one pc", "desktop", "mini pc", "pc", "thin client", "barebone", "system"}, []string{"Computers", "Desktops"}},
	{[]string{"tablet", "ipad", "e-book reader"}, []string{"Computers", "Tablets"}},
	{[]string{"monitor", "display", "full hd", "led", "lcd", "privacy filter", "screen protector", "flat screen", "projector", "projection screen", "lamp"}, []string{"Displays & Projectors"}},
	{[]string{"mouse", "keyboard", "trackball", "graphic tablet", "presenter", "webcam"}, []string{"Computers", "Mice & Keyboards"}},
	{[]string{"rack", "cabinet", "pdu", "power distribution", "patch panel", "cable management", "mounting bracket", "rail kit"}, []string{"Networking", "Racks & Cabling"}},
	{[]string{"router", "switch", "access point", "networking card", "network interface", "network card", "wireless", "transceiver", "sfp", "media converter", "modem", "firewall", "powerline", "ethernet"}, []string{"Networking", "Network Devices"}},
	{[]string{"cable", "cat5", "cat6", "cat.5", "cat.6", "patch cord", "fiber", "fibre", "adapter", "connector", "hdmi", "usb", "displayport", "vga", "kvm", "splitter", "extender", "serial"}, []string{"Cables & Adapters"}},
	{[]string{"surge", "ups", "uninterruptible", "power strip", "outlet", "isobar", "battery backup"}, []string{"Power", "Surge Protection & UPS"}},
	{[]string{"headphone", "headset", "earphone", "earbud"}, []string{"Audio", "Headphones"}},
	{[]string{"speaker", "soundbar", "audio system", "micro system", "clock radio", "radio", "amplifier", "mp3", "mp4", "microphone", "av transmitter", "av receiver"}, []string{"Audio", "Speakers & Hi-Fi"}},
	{[]string{"camera", "camcorder", "lens", "tripod", "sensor camera", "surveillance", "security camera", "ip camera"}, []string{"Cameras & Security"}},
	{[]string{"tv", "television", "set-top", "media player", "mount", "ceiling mount", "wall mount"}, []string{"TV & Video"}},
	{[]string{"phone", "smartphone", "mobile", "telephone", "dect"}, []string{"Phones"}},
	{[]string{"coffee", "espresso", "kettle", "toaster", "blender", "vacuum", "iron", "hair", "shaver", "kitchen", "cooker", "microwave", "refrigerator", "fridge", "oven", "dishwasher", "washing"}, []string{"Home & Kitchen"}},
	{[]string{"doll", "toy", "puzzle", "lego", "playmobil", "sylvanian", "figure", "game", "board game", "plush", "building kit"}, []string{"Toys & Games"}},
	{[]string{"calculator", "organizer", "tray", "storage box", "binder", "folder", "file", "laminat", "shredder", "whiteboard", "pen", "stapler", "desk", "clipboard", "notebook cover", "leitz", "herma"}, []string{"Office", "Office Supplies"}},
	{[]string{"bag", "case", "sleeve", "backpack", "cover"}, []string{"Bags & Cases"}},
	{[]string{"software", "license", "warranty", "on-site", "care pack", "support", "service", "pick-up&return"}, []string{"Software & Services"}},
	{[]string{"nail", "razor", "trimmer", "toothbrush", "cosmetic", "perfume", "beauty"}, []string{"Health & Beauty"}},
	{[]string{"tool kit", "tool", "cleaning", "cleaner"}, []string{"Tools & Cleaning"}},
}

// fallbackCategory holds Icecat items no rule matches.
var fallbackCategory = []string{"Other Electronics"}

// icecatCategory returns the category path of an Icecat item.
func icecatCategory(productType, typ, title string) []string {
	clean := strings.NewReplacer("(", " ", ")", " ", ",", " ", "/", " ", "\"", " ")
	for _, s := range []string{productType, typ, title} {
		if s == "" {
			continue
		}
		text := " " + clean.Replace(strings.ToLower(s)) + " "
		for _, r := range icecatRules {
			for _, k := range r.keywords {
				if strings.Contains(text, " "+k) {
					return r.path
				}
			}
		}
	}
	return fallbackCategory
}
