<?xml version="1.0" encoding="utf-8"?>
<!-- CASSISjuice: the Spitzer/IRS staring-mode spectral atlas.

  The one source of metadata of cassisjuice-vo (DESIGN.md decision 1): the store's tables,
  TAP_SCHEMA, VOSI tables, ObsCore and the registry records are generated from this file
  by vo_service.metadata. It is written in the DaCHS resource-descriptor dialect, so a
  GAVO DaCHS can also publish the atlas from it.

  Tables (schema cassisjuice):
    catalog        one row per CASSISjuice ID (AORKEY_N): position, names, arms, extent
    spectra        one row per spectrum variant of an ID; the selected ones flagged
    spectrum_data  the spectra's arrays (not queryable by ADQL)
    obscore        the ObsCore 1.1 rows (one per selected LR and HR spectrum), served as
                   ivoa.obscore by cassisjuice-vo
-->
<resource schema="cassisjuice" resdir="cassisjuice">
  <meta name="title">CASSISjuice: the Spitzer/IRS staring-mode spectral atlas</meta>
  <meta name="shortName">CASSISjuice</meta>
  <meta name="description">
    Low resolution (SL, LL; 5.2-38 um, R 60-130) and high resolution (SH, LH;
    9.6-37.2 um, R 600) mid-infrared spectra of the targeted positions of the
    Spitzer/IRS staring-mode observations, reduced with several background,
    extraction, nod-combination and flux-calibration methods (the full atlas) with
    the best variant selected automatically per position and resolution (the
    concentrate). Spectra reduced from simulated exposures say so in their
    provenance column.
  </meta>
  <meta name="creator">cassisjuice-vo developers</meta>
  <meta name="subject">infrared-astronomy</meta>
  <meta name="subject">spectroscopy</meta>
  <meta name="subject">astronomical-databases</meta>
  <meta name="instrument">IRS</meta>
  <meta name="facility">Spitzer Space Telescope</meta>
  <meta name="rights">Creative Commons Attribution-NonCommercial-ShareAlike 4.0 International (CC BY-NC-SA 4.0)</meta>
  <meta name="rights.rightsURI">https://creativecommons.org/licenses/by-nc-sa/4.0/</meta>
  <meta name="howtociteLink">Lebouteiller et al. 2011, ApJS 196, 8 (CASSIS low resolution); Lebouteiller et al. 2015, ApJS 218, 21 (CASSIS high resolution); the CASSISjuice paper, arXiv:2309.06876</meta>
  <meta name="source">2011ApJS..196....8L</meta>
  <meta name="contentLevel">Research</meta>
  <meta name="type">Archive</meta>
  <meta name="coverage.waveband">Infrared</meta>
  <meta name="coverage.spectral">5.227e-21 3.820e-20</meta>
  <meta name="coverage.temporal">52876 54966</meta>
  <meta name="productType">spectrum</meta>

  <table id="catalog" onDisk="True" adql="True" primary="cj_id">
    <meta name="description">The atlas catalogue: one row per targeted position
      (CASSISjuice ID AORKEY_N), with the low and high resolution spectra associated.</meta>
    <index columns="healpix"/>
    <index columns="dec"/>
    <index columns="aorkey"/>
    <!-- what users sort and group the catalogue by (TOP n ... ORDER BY snr_lr, GROUP BY
         object_type): read from the index instead of a scan and a sort of the table -->
    <index columns="object_type"/>
    <index columns="snr_lr"/>
    <index columns="snr_hr"/>
    <index columns="obs_mjd"/>
    <column name="cj_id" type="text" required="True" ucd="meta.id;meta.main" verbLevel="1"
      description="CASSISjuice identifier AORKEY_N (N: the pointing within a cluster AOR)"/>
    <column name="aorkey" type="integer" required="True" ucd="meta.id;obs" verbLevel="1"
      description="Spitzer Astronomical Observation Request key"/>
    <column name="pointing" type="smallint" required="True" ucd="meta.number;obs"
      verbLevel="10" description="Pointing number within the AOR (0 for a single target)"/>
    <column name="ra" type="double precision" unit="deg" ucd="pos.eq.ra;meta.main"
      verbLevel="1" description="ICRS right ascension of the position"/>
    <column name="dec" type="double precision" unit="deg" ucd="pos.eq.dec;meta.main"
      verbLevel="1" description="ICRS declination of the position"/>
    <column name="object_name" type="text" ucd="meta.id;src" verbLevel="1"
      description="Target name given by the observer"/>
    <column name="simbad_name" type="text" ucd="meta.id.cross" verbLevel="10"
      description="SIMBAD main identifier (NULL when not cross-identified)"/>
    <column name="ned_name" type="text" ucd="meta.id.cross" verbLevel="10"
      description="NED preferred name (NULL when not cross-identified)"/>
    <column name="object_type" type="text" ucd="src.class" verbLevel="10"
      description="Object type from the cross-identification when one was given to ingest, else the Spitzer target type of the observation (header OBJTYPE: TargetFixedSingle, TargetFixedCluster...)"/>
    <column name="redshift" type="double precision" ucd="src.redshift" verbLevel="10"
      description="Redshift from the cross-identification"/>
    <column name="has_lr" type="boolean" required="True" ucd="meta.code" verbLevel="1"
      description="Low resolution (SL/LL) spectra present"/>
    <column name="has_hr" type="boolean" required="True" ucd="meta.code" verbLevel="1"
      description="High resolution (SH/LH) spectra present"/>
    <column name="extent_arcsec" type="double precision" unit="arcsec"
      ucd="phys.angSize;src" verbLevel="10"
      description="Measured intrinsic FWHM of the source along the slit (0: point source)"/>
    <column name="extent_class" type="text" ucd="src.morph.type" verbLevel="10"
      description="point, partial (partially extended) or extended"/>
    <column name="snr_lr" type="double precision" ucd="stat.snr" verbLevel="10"
      description="Median signal-to-noise ratio of the selected LR spectrum"/>
    <column name="snr_hr" type="double precision" ucd="stat.snr" verbLevel="10"
      description="Median signal-to-noise ratio of the selected HR spectrum"/>
    <column name="obs_mjd" type="double precision" unit="d" ucd="time.epoch;obs"
      verbLevel="10" description="Modified Julian date of the first exposure"/>
    <column name="program_id" type="integer" ucd="meta.id;obs.proposal" verbLevel="20"
      description="Spitzer programme identifier (NULL when unknown)"/>
    <column name="provenance" type="text" required="True" ucd="meta.note" verbLevel="1"
      description="simulated (reduced from simulated exposures) or archive (a real CASSIS product)"/>
    <column name="healpix" type="bigint" required="True" ucd="pos.healpix" verbLevel="30"
      description="NESTED HEALPix index of the position at order 29 (the positional index)"/>
  </table>

  <table id="spectra" onDisk="True" adql="True" primary="spectrum_id">
    <meta name="description">Every spectrum variant of the atlas (the full atlas): one row
      per ID, resolution and method; selected = 1 marks the concentrate.</meta>
    <index columns="cj_id"/>
    <index columns="healpix"/>
    <index columns="dec"/>
    <column name="spectrum_id" type="text" required="True" ucd="meta.id;meta.main"
      verbLevel="1" description="ID/ARM/variant key, e.g. 12345_0/LR/optimal/bynod/common/point"/>
    <column name="cj_id" type="text" required="True" ucd="meta.id;meta.dataset" verbLevel="1"
      description="CASSISjuice identifier of the position"/>
    <column name="arm" type="text" required="True" ucd="instr.setup" verbLevel="1"
      description="LR (SL/LL) or HR (SH/LH)"/>
    <column name="variant" type="text" required="True" ucd="meta.code" verbLevel="1"
      description="Method key extraction/background/nods/calibration"/>
    <column name="extraction" type="text" required="True" ucd="meta.code" verbLevel="10"
      description="Extraction method (optimal, tapered, extended, fullap)"/>
    <column name="background" type="text" required="True" ucd="meta.code" verbLevel="10"
      description="Background method (bynod, byorder, insitu, none, localcont, diff, zodi); none: no sky subtracted, so an HR full-aperture spectrum includes the zodiacal light in the slit; zodi: the HR full aperture minus the zodiacal light the SSC estimated for the pointing (ZODY_EST), its uncertainty included in the errors"/>
    <column name="nods" type="text" required="True" ucd="meta.code" verbLevel="10"
      description="Nod handling (common, interleaved, nods, nodcomb, diff)"/>
    <column name="calibration" type="text" required="True" ucd="meta.code" verbLevel="10"
      description="Flux calibration (point, extended, partial)"/>
    <column name="selected" type="smallint" required="True" ucd="meta.code" verbLevel="1"
      description="1 for the selected (best) variant of its ID and resolution"/>
    <column name="ra" type="double precision" unit="deg" ucd="pos.eq.ra;meta.main"
      verbLevel="1" description="ICRS right ascension"/>
    <column name="dec" type="double precision" unit="deg" ucd="pos.eq.dec;meta.main"
      verbLevel="1" description="ICRS declination"/>
    <column name="wl_min" type="double precision" unit="um" ucd="em.wl;stat.min"
      verbLevel="1" description="Shortest wavelength"/>
    <column name="wl_max" type="double precision" unit="um" ucd="em.wl;stat.max"
      verbLevel="1" description="Longest wavelength"/>
    <column name="n_points" type="integer" ucd="meta.number" verbLevel="10"
      description="Number of spectral points"/>
    <column name="snr" type="double precision" ucd="stat.snr" verbLevel="10"
      description="Median signal-to-noise ratio"/>
    <column name="healpix" type="bigint" required="True" ucd="pos.healpix" verbLevel="30"
      description="NESTED HEALPix index of the position at order 29"/>
  </table>

  <table id="exposures" onDisk="True" adql="True">
    <meta name="description">The raw IRS exposures (BCDs) each position was reduced from:
      its progenitors, one row per data collection event, named by their path in the
      Spitzer archive layout.</meta>
    <index columns="cj_id"/>
    <column name="cj_id" type="text" required="True" ucd="meta.id" verbLevel="1"
      description="CASSISjuice identifier of the position reduced from this exposure"/>
    <column name="aorkey" type="integer" required="True" ucd="meta.id;obs" verbLevel="1"
      description="Spitzer Astronomical Observation Request key"/>
    <column name="file" type="text" required="True" ucd="meta.ref;meta.file" verbLevel="1"
      description="Path of the BCD file in the archive layout r&lt;AORKEY&gt;/ch&lt;N&gt;/bcd/"/>
    <column name="irs_module" type="text" ucd="instr.setup" verbLevel="1"
      description="IRS module: SL, LL, SH or LH"/>
    <column name="subslit" type="text" ucd="instr.setup" verbLevel="10"
      description="Sub-slit (order) observed at this nod: 1, 2 (SL, LL) or the module"/>
    <column name="nod" type="smallint" ucd="meta.number;obs" verbLevel="10"
      description="Nod position (1 or 2)"/>
    <column name="expid" type="integer" ucd="meta.number;obs" verbLevel="10"
      description="Exposure number within the AOR"/>
    <column name="dcenum" type="integer" ucd="meta.number;obs" verbLevel="10"
      description="Data collection event within the exposure"/>
    <column name="mjd_obs" type="double precision" unit="d" ucd="time.start;obs.exposure"
      verbLevel="10" description="Start of the exposure, MJD"/>
  </table>

  <table id="spectrum_data" onDisk="True" adql="False" primary="spectrum_id">
    <meta name="description">The arrays of each spectrum (little-endian binary), for the
      services; not queryable through TAP.</meta>
    <column name="spectrum_id" type="text" required="True" ucd="meta.id;meta.main"
      description="As in spectra"/>
    <column name="wavelength" type="bytea" required="True" ucd="em.wl"
      description="Wavelengths, float64 um"/>
    <column name="flux" type="bytea" required="True" ucd="phot.flux.density"
      description="Flux densities, float64 Jy"/>
    <column name="flux_error" type="bytea" required="True" ucd="stat.error;phot.flux.density"
      description="Uncertainties, float64 Jy"/>
    <column name="flag" type="bytea" required="True" ucd="meta.code.qual"
      description="Bit flags, int32"/>
    <column name="segment" type="text" required="True" ucd="instr.setup"
      description="Segment (module/order) of each point, space-separated runs name:count"/>
  </table>

  <table id="obscore" onDisk="True" adql="True" primary="obs_publisher_did">
    <meta name="description">ObsCore 1.1 view of the concentrate: one row per selected low
      and high resolution spectrum (published as ivoa.obscore).</meta>
    <index columns="healpix"/>
    <index columns="s_dec"/>
    <column name="dataproduct_type" type="text" ucd="meta.code.class"
      utype="obscore:ObsDataset.dataProductType" verbLevel="1" description="Data product type: spectrum"/>
    <column name="dataproduct_subtype" type="text" ucd="meta.code.class"
      utype="obscore:ObsDataset.dataProductSubtype" verbLevel="10" description="lr-spectrum or hr-spectrum"/>
    <column name="calib_level" type="smallint" required="True" ucd="meta.code;obs.calib"
      utype="obscore:ObsDataset.calibLevel" verbLevel="1" description="Calibration level: 2, calibrated"/>
    <column name="obs_collection" type="text" required="True" ucd="meta.id"
      utype="obscore:DataID.collection" verbLevel="1" description="CASSISjuice (or CASSISjuice-simulated)"/>
    <column name="obs_id" type="text" required="True" ucd="meta.id"
      utype="obscore:DataID.observationID" verbLevel="1" description="ID/ARM of the spectrum"/>
    <column name="obs_publisher_did" type="text" required="True" ucd="meta.ref.ivoid"
      utype="obscore:Curation.publisherDID" verbLevel="1" description="IVOA dataset identifier"/>
    <column name="access_url" type="text" ucd="meta.ref.url" utype="obscore:Access.reference"
      verbLevel="1" description="The Datalink document of the spectrum"/>
    <column name="access_format" type="text" ucd="meta.code.mime"
      utype="obscore:Access.format" verbLevel="1" description="MIME type of access_url"/>
    <column name="access_estsize" type="bigint" unit="kbyte" ucd="phys.size;meta.file"
      utype="obscore:Access.size" verbLevel="10" description="Estimated size of the spectrum file"/>
    <column name="target_name" type="text" ucd="meta.id;src" utype="obscore:Target.name"
      verbLevel="1" description="Target name"/>
    <column name="s_ra" type="double precision" unit="deg" ucd="pos.eq.ra"
      utype="obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1"
      verbLevel="1" description="ICRS right ascension"/>
    <column name="s_dec" type="double precision" unit="deg" ucd="pos.eq.dec"
      utype="obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2"
      verbLevel="1" description="ICRS declination"/>
    <column name="s_fov" type="double precision" unit="deg" ucd="phys.angSize;instr.fov"
      utype="obscore:Char.SpatialAxis.Coverage.Bounds.Extent.diameter" verbLevel="10"
      description="Slit width (diameter of the extraction aperture)"/>
    <column name="s_region" type="text" ucd="pos.outline;obs.field"
      utype="obscore:Char.SpatialAxis.Coverage.Support.Area" verbLevel="10"
      description="Extraction aperture as STC-S"/>
    <column name="s_resolution" type="double precision" unit="arcsec" ucd="pos.angResolution"
      utype="obscore:Char.SpatialAxis.Resolution.Refval.value" verbLevel="10"
      description="Spatial resolution (PSF FWHM at the middle of the range)"/>
    <column name="s_xel1" type="bigint" ucd="meta.number" utype="obscore:Char.SpatialAxis.numBins1"
      verbLevel="30" description="Spatial pixels along the first axis (1)"/>
    <column name="s_xel2" type="bigint" ucd="meta.number" utype="obscore:Char.SpatialAxis.numBins2"
      verbLevel="30" description="Spatial pixels along the second axis (1)"/>
    <column name="t_min" type="double precision" unit="d" ucd="time.start;obs.exposure"
      utype="obscore:Char.TimeAxis.Coverage.Bounds.Limits.StartTime" verbLevel="10"
      description="Start of the observation, MJD"/>
    <column name="t_max" type="double precision" unit="d" ucd="time.end;obs.exposure"
      utype="obscore:Char.TimeAxis.Coverage.Bounds.Limits.StopTime" verbLevel="10"
      description="End of the observation, MJD"/>
    <column name="t_exptime" type="double precision" unit="s" ucd="time.duration;obs.exposure"
      utype="obscore:Char.TimeAxis.Coverage.Support.Extent" verbLevel="10"
      description="Total exposure time"/>
    <column name="t_resolution" type="double precision" unit="s" ucd="time.resolution"
      utype="obscore:Char.TimeAxis.Resolution.Refval.value" verbLevel="30"
      description="Time resolution (NULL)"/>
    <column name="t_xel" type="bigint" ucd="meta.number" utype="obscore:Char.TimeAxis.numBins"
      verbLevel="30" description="Time bins (1)"/>
    <column name="em_min" type="double precision" unit="m" ucd="em.wl;stat.min"
      utype="obscore:Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit" verbLevel="1"
      description="Shortest wavelength, vacuum"/>
    <column name="em_max" type="double precision" unit="m" ucd="em.wl;stat.max"
      utype="obscore:Char.SpectralAxis.Coverage.Bounds.Limits.HiLimit" verbLevel="1"
      description="Longest wavelength, vacuum"/>
    <column name="em_res_power" type="double precision" ucd="spect.resolution"
      utype="obscore:Char.SpectralAxis.Resolution.ResolPower.refVal" verbLevel="10"
      description="Typical resolving power lambda / delta lambda"/>
    <column name="em_xel" type="bigint" ucd="meta.number" utype="obscore:Char.SpectralAxis.numBins"
      verbLevel="10" description="Number of spectral points"/>
    <column name="o_ucd" type="text" ucd="meta.ucd" utype="obscore:Char.ObservableAxis.ucd"
      verbLevel="10" description="UCD of the observable: phot.flux.density;em.wl"/>
    <column name="pol_states" type="text" ucd="meta.code;phys.polarization"
      utype="obscore:Char.PolarizationAxis.stateList" verbLevel="30" description="Polarisation states (NULL)"/>
    <column name="pol_xel" type="bigint" ucd="meta.number" utype="obscore:Char.PolarizationAxis.numBins"
      verbLevel="30" description="Polarisation bins (NULL)"/>
    <column name="facility_name" type="text" ucd="meta.id;instr.tel"
      utype="obscore:Provenance.ObsConfig.Facility.name" verbLevel="10" description="Spitzer"/>
    <column name="instrument_name" type="text" ucd="meta.id;instr"
      utype="obscore:Provenance.ObsConfig.Instrument.name" verbLevel="10" description="IRS"/>
    <column name="healpix" type="bigint" required="True" ucd="pos.healpix" verbLevel="30"
      description="NESTED HEALPix index of the position at order 29"/>
  </table>
</resource>
