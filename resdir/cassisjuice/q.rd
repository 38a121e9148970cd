<?xml version="1.0" encoding="utf-8"?>
<!-- CASSISjuice: the Spitzer/IRS staring-mode spectral atlas.

  The one source of metadata of cassisjuice-vo (DESIGN.md decision 1): the store's tables,
  TAP_SCHEMA, VOSI tables, ObsCore and the registry records are generated from this file
  by vo_service.metadata. It is written in the DaCHS resource-descriptor dialect, so a
  GAVO DaCHS can also publish the atlas from it.

  Tables (schema cassisjuice):
    positions      one row per CASSISjuice ID (AORKEY_N): position, names, arms, extent
    spectra        one row per spectrum variant of an ID; the selected ones flagged
    spectrum_data  the spectra's arrays (not queryable by ADQL)
    obscore        the ObsCore 1.1 rows (one per selected LR and HR spectrum), published
                   as ivoa.obscore (its //obscore#publishObscoreLike mixin)
    ssa_view       GAVO DaCHS only: the SSA view of the obscore rows its SSAP service
                   queries (//ssap#view); cassisjuice-vo answers SSAP from obscore

  GAVO DaCHS imports the atlas from the dump "cassisjuice export-dachs" writes into this
  resource directory (data/<table>.csv and data/spectra/<ID>_<ARM>.fits; the data
  elements below) and serves it by TAP (the adql tables, ivoa.obscore) and SSAP (the
  ssa service). cassisjuice-vo reads the tables, the column sets, the ObsCore mixin's
  constants and the services' metadata from this file.
-->
<resource schema="cassisjuice" resdir="cassisjuice">
  <meta name="creationDate">2026-11-22T00:00:00Z</meta>
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
  <!-- The registry records of what this descriptor does not declare as a service:
    cassisjuice-vo's TAP service (GAVO DaCHS's is the site's /tap, whose record is
    DaCHS's own), its publishing registry (whose title is also the OAI-PMH
    repositoryName, as DaCHS has it, Registry Interfaces 1.1 sec. 4) and its naming
    authority. GAVO DaCHS carries these metadata without using them. -->
  <meta name="tapRecord">
    <meta name="shortName">CASSISjuice TAP</meta>
    <meta name="title">CASSISjuice: table access (TAP 1.1)</meta>
    <meta name="description">The tables of the CASSISjuice atlas of Spitzer/IRS
      staring-mode spectra (positions, every spectrum variant, the raw exposures,
      measured features, the line list, spectral coverage, object names) and its ObsCore
      1.1 view ivoa.obscore, queried in ADQL 2.1 (synchronous and asynchronous, with
      table uploads).</meta>
  </meta>
  <meta name="registryRecord">
    <meta name="title">CASSISjuice publishing registry</meta>
    <meta name="description">The OAI-PMH interface publishing the VOResource records
      of the CASSISjuice atlas services.</meta>
  </meta>
  <meta name="authorityRecord">
    <meta name="title">CASSISjuice naming authority</meta>
    <meta name="description">The authority of the IVOA identifiers of the CASSISjuice
      atlas: its services and its datasets.</meta>
  </meta>

  <table id="positions" onDisk="True" adql="True" primary="cj_id" mixin="//scs#q3cindex">
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
    <column name="selection_log" type="text" ucd="meta.note" verbLevel="20"
      description="Why the selection tree chose this variant (its decision log, one reason per line); empty for the variants not selected"/>
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

  <table id="obscore" onDisk="True" primary="obs_publisher_did">
    <meta name="description">ObsCore 1.1 view of the concentrate: one row per selected low
      and high resolution spectrum (published as ivoa.obscore).</meta>
    <!-- adql hidden (after the publish mixin, which sets it to True): TAP lists these rows
      as ivoa.obscore only.
      The publish mixin's constants are what ingest writes into every row: product type,
      calibration level, facility, instrument, observable UCD and access_format. Both
      services follow one convention (ObsCore 1.1 sec. 4.7, DataLink 1.1 sec. 3.4):
      access_url is the spectrum's Datalink document, access_format its MIME type, and
      access_estsize the size of the spectrum file. cassisjuice-vo's access_url is its
      /datalink/links; GAVO DaCHS's is the dlmeta of the dl service below, with the
      server URL DaCHS has when it imports the resource (as its \dlMetaURI macro does),
      the DID percent-encoded (chr(37) is the percent sign, which DaCHS's SQL
      parameter substitution would take for a placeholder).
      s_region: cassisjuice-vo keeps the aperture circle as STC-S (an ADQL CIRCLE in
      geometry functions); a DaCHS s_region is a pgSphere spoly (it casts the parameter
      to one and refuses circles), so DaCHS gets the octagon circumscribing that circle
      (centre s_ra, s_dec; radius s_fov / 2), its vertices computed on the sphere.
      Columns of ObsCore 1.1 this table does not have are NULL. -->
    <mixin>//products#table</mixin>
    <mixin
      dataproduct_type="'spectrum'"
      calib_level="2"
      facility_name="'Spitzer'"
      instrument_name="'IRS'"
      o_ucd="'phot.flux.density;em.wl'"
      access_format="'application/x-votable+xml;content=datalink'"
      access_url="'\internallink{\rdId/dl/dlmeta}?ID=' || replace(replace(replace(replace(
        obs_publisher_did, chr(37), chr(37) || '25'), '&amp;', chr(37) || '26'), '+',
        chr(37) || '2B'), '?', chr(37) || '3F')"
      access_estsize="access_estsize"
      obs_title="'CASSISjuice ' || obs_id"
      obs_creator_did="NULL"
      target_class="NULL"
      s_region="(SELECT spoly(spoint(radians(s_ra) + atan2(sin(t) * sin(r) * cos(d),
        cos(r) - sin(d) * sin(lat)), lat) ORDER BY t) FROM (SELECT t, r, d,
        asin(sin(d) * cos(r) + cos(d) * sin(r) * cos(t)) AS lat FROM (SELECT
        2 * pi() * k / 8 AS t, radians(s_fov / 2) / cos(pi() / 8) AS r, radians(s_dec) AS d
        FROM generate_series(0, 7) AS k) AS v) AS w)"
      s_pixel_scale="NULL"
      em_ucd="'em.wl'"
      preview="NULL"
      >//obscore#publishObscoreLike</mixin>
    <adql>hidden</adql>
    <!-- GAVO DaCHS adds the dl service's descriptor to TAP results with this column, as
      cassisjuice-vo adds its Datalink descriptor (DataLink 1.1 sec. 4) -->
    <meta name="_associatedDatalinkService">
      <meta name="serviceId">dl</meta>
      <meta name="idColumn">obs_publisher_did</meta>
    </meta>
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
  <table id="features" onDisk="True" adql="True" primary="cj_id">
    <meta name="description">Features measured on the selected spectra of every position at
      ingest (pipeline/features: a PAHFIT-like decomposition, continuum x silicate and ice
      attenuation + PAH Drude bands + unresolved lines): PAH band fluxes and equivalent
      widths, silicate strengths, ice optical depths, fine-structure and H2 line fluxes,
      continuum flux densities, the 15-30 um index and synthetic photometry. Each value has
      an uncertainty (_err) and a flag (_flag: 1 detected at 3 sigma, 0 not detected, the
      value then being the upper limit of a flux, equivalent width or optical depth; NULL
      not covered). Broad features from the LR spectrum (HR when there is none), each line
      from the arm measuring it best. Join to cassisjuice.positions on cj_id.</meta>
    <column name="cj_id" type="text" required="True" ucd="meta.id;meta.main" verbLevel="1"
      description="CASSISjuice identifier of the position (cassisjuice.positions.cj_id)"/>
    <column name="redshift" type="double precision" ucd="src.redshift" verbLevel="10"
      description="Redshift the features were measured at (0 when the catalogue has none: rest frame = observed frame)"/>
    <column name="arm_continuum" type="text" ucd="instr.setup" verbLevel="10"
      description="Arm the PAH, silicate, ice, continuum and photometry values come from (LR or HR)"/>
    <column name="pah_6p2_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of the PAH 6.2 um complex (PAHFIT components PAH_6.2); upper limit when the flag is 0"/>
    <column name="pah_6p2_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of pah_6p2_flux"/>
    <column name="pah_6p2_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: pah_6p2_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="pah_6p2_ew" type="double precision" unit="um" ucd="spect.line.eqWidth" verbLevel="10"
      description="Rest-frame equivalent width of the PAH 6.2 um complex against the continuum at 6.22 um; upper limit when the flag is 0"/>
    <column name="pah_6p2_ew_err" type="double precision" unit="um" ucd="stat.error;spect.line.eqWidth" verbLevel="30"
      description="Uncertainty (1 sigma) of pah_6p2_ew"/>
    <column name="pah_6p2_ew_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: pah_6p2_ew detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="pah_7p7_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of the PAH 7.7 um complex (PAHFIT components PAH_7.7a, PAH_7.7b, PAH_7.7c); upper limit when the flag is 0"/>
    <column name="pah_7p7_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of pah_7p7_flux"/>
    <column name="pah_7p7_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: pah_7p7_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="pah_7p7_ew" type="double precision" unit="um" ucd="spect.line.eqWidth" verbLevel="10"
      description="Rest-frame equivalent width of the PAH 7.7 um complex against the continuum at 7.7 um; upper limit when the flag is 0"/>
    <column name="pah_7p7_ew_err" type="double precision" unit="um" ucd="stat.error;spect.line.eqWidth" verbLevel="30"
      description="Uncertainty (1 sigma) of pah_7p7_ew"/>
    <column name="pah_7p7_ew_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: pah_7p7_ew detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="pah_8p6_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of the PAH 8.6 um complex (PAHFIT components PAH_8.6); upper limit when the flag is 0"/>
    <column name="pah_8p6_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of pah_8p6_flux"/>
    <column name="pah_8p6_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: pah_8p6_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="pah_8p6_ew" type="double precision" unit="um" ucd="spect.line.eqWidth" verbLevel="10"
      description="Rest-frame equivalent width of the PAH 8.6 um complex against the continuum at 8.61 um; upper limit when the flag is 0"/>
    <column name="pah_8p6_ew_err" type="double precision" unit="um" ucd="stat.error;spect.line.eqWidth" verbLevel="30"
      description="Uncertainty (1 sigma) of pah_8p6_ew"/>
    <column name="pah_8p6_ew_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: pah_8p6_ew detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="pah_11p3_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of the PAH 11.3 um complex (PAHFIT components PAH_11.3a, PAH_11.3b); upper limit when the flag is 0"/>
    <column name="pah_11p3_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of pah_11p3_flux"/>
    <column name="pah_11p3_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: pah_11p3_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="pah_11p3_ew" type="double precision" unit="um" ucd="spect.line.eqWidth" verbLevel="10"
      description="Rest-frame equivalent width of the PAH 11.3 um complex against the continuum at 11.3 um; upper limit when the flag is 0"/>
    <column name="pah_11p3_ew_err" type="double precision" unit="um" ucd="stat.error;spect.line.eqWidth" verbLevel="30"
      description="Uncertainty (1 sigma) of pah_11p3_ew"/>
    <column name="pah_11p3_ew_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: pah_11p3_ew detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="pah_12p7_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of the PAH 12.7 um complex (PAHFIT components PAH_12.6a, PAH_12.6b); upper limit when the flag is 0"/>
    <column name="pah_12p7_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of pah_12p7_flux"/>
    <column name="pah_12p7_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: pah_12p7_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="pah_12p7_ew" type="double precision" unit="um" ucd="spect.line.eqWidth" verbLevel="10"
      description="Rest-frame equivalent width of the PAH 12.7 um complex against the continuum at 12.7 um; upper limit when the flag is 0"/>
    <column name="pah_12p7_ew_err" type="double precision" unit="um" ucd="stat.error;spect.line.eqWidth" verbLevel="30"
      description="Uncertainty (1 sigma) of pah_12p7_ew"/>
    <column name="pah_12p7_ew_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: pah_12p7_ew detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="pah_17_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of the PAH 17 um complex (PAHFIT components PAH_17a, PAH_17b, PAH_17c, PAH_17d); upper limit when the flag is 0"/>
    <column name="pah_17_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of pah_17_flux"/>
    <column name="pah_17_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: pah_17_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="pah_17_ew" type="double precision" unit="um" ucd="spect.line.eqWidth" verbLevel="10"
      description="Rest-frame equivalent width of the PAH 17 um complex against the continuum at 17 um; upper limit when the flag is 0"/>
    <column name="pah_17_ew_err" type="double precision" unit="um" ucd="stat.error;spect.line.eqWidth" verbLevel="30"
      description="Uncertainty (1 sigma) of pah_17_ew"/>
    <column name="pah_17_ew_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: pah_17_ew detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="sil_9p7" type="double precision" ucd="spect.line.intensity;phys.absorption" verbLevel="10"
      description="Silicate strength ln(F/F_cont) at rest 9.7 um (negative: absorption, positive: emission)"/>
    <column name="sil_9p7_err" type="double precision" ucd="stat.error;spect.line.intensity" verbLevel="30"
      description="Uncertainty (1 sigma) of sil_9p7"/>
    <column name="sil_9p7_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: sil_9p7 detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="sil_18" type="double precision" ucd="spect.line.intensity;phys.absorption" verbLevel="10"
      description="Silicate strength ln(F/F_cont) at rest 18 um (negative: absorption, positive: emission)"/>
    <column name="sil_18_err" type="double precision" ucd="stat.error;spect.line.intensity" verbLevel="30"
      description="Uncertainty (1 sigma) of sil_18"/>
    <column name="sil_18_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: sil_18 detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="tau_h2o_6p0" type="double precision" ucd="phys.absorption.opticalDepth" verbLevel="10"
      description="Peak optical depth of the H2O ice 6.0 um band (centre 6.02 um); upper limit when the flag is 0"/>
    <column name="tau_h2o_6p0_err" type="double precision" ucd="stat.error;phys.absorption.opticalDepth" verbLevel="30"
      description="Uncertainty (1 sigma) of tau_h2o_6p0"/>
    <column name="tau_h2o_6p0_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: tau_h2o_6p0 detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="tau_6p85" type="double precision" ucd="phys.absorption.opticalDepth" verbLevel="10"
      description="Peak optical depth of the 6.85 um ice band (centre 6.85 um); upper limit when the flag is 0"/>
    <column name="tau_6p85_err" type="double precision" ucd="stat.error;phys.absorption.opticalDepth" verbLevel="30"
      description="Uncertainty (1 sigma) of tau_6p85"/>
    <column name="tau_6p85_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: tau_6p85 detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="tau_co2_15p2" type="double precision" ucd="phys.absorption.opticalDepth" verbLevel="10"
      description="Peak optical depth of the CO2 ice 15.2 um band (centre 15.2 um); upper limit when the flag is 0"/>
    <column name="tau_co2_15p2_err" type="double precision" ucd="stat.error;phys.absorption.opticalDepth" verbLevel="30"
      description="Uncertainty (1 sigma) of tau_co2_15p2"/>
    <column name="tau_co2_15p2_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: tau_co2_15p2 detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="ar2_6p99_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of [ArII] 6.99 um (rest 6.98527 um); 3 sigma upper limit when the flag is 0"/>
    <column name="ar2_6p99_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of ar2_6p99_flux"/>
    <column name="ar2_6p99_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: ar2_6p99_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="ar3_8p99_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of [ArIII] 8.99 um (rest 8.99138 um); 3 sigma upper limit when the flag is 0"/>
    <column name="ar3_8p99_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of ar3_8p99_flux"/>
    <column name="ar3_8p99_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: ar3_8p99_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="s4_10p51_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of [SIV] 10.51 um (rest 10.51050 um); 3 sigma upper limit when the flag is 0"/>
    <column name="s4_10p51_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of s4_10p51_flux"/>
    <column name="s4_10p51_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: s4_10p51_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="ne2_12p81_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of [NeII] 12.81 um (rest 12.81355 um); 3 sigma upper limit when the flag is 0"/>
    <column name="ne2_12p81_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of ne2_12p81_flux"/>
    <column name="ne2_12p81_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: ne2_12p81_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="ne5_14p32_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of [NeV] 14.32 um (rest 14.32170 um); 3 sigma upper limit when the flag is 0"/>
    <column name="ne5_14p32_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of ne5_14p32_flux"/>
    <column name="ne5_14p32_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: ne5_14p32_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="ne3_15p56_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of [NeIII] 15.56 um (rest 15.55510 um); 3 sigma upper limit when the flag is 0"/>
    <column name="ne3_15p56_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of ne3_15p56_flux"/>
    <column name="ne3_15p56_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: ne3_15p56_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="s3_18p71_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of [SIII] 18.71 um (rest 18.71300 um); 3 sigma upper limit when the flag is 0"/>
    <column name="s3_18p71_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of s3_18p71_flux"/>
    <column name="s3_18p71_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: s3_18p71_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="ne5_24p32_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of [NeV] 24.32 um (rest 24.31750 um); 3 sigma upper limit when the flag is 0"/>
    <column name="ne5_24p32_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of ne5_24p32_flux"/>
    <column name="ne5_24p32_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: ne5_24p32_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="o4_25p89_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of [OIV] 25.89 um (rest 25.89030 um); 3 sigma upper limit when the flag is 0"/>
    <column name="o4_25p89_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of o4_25p89_flux"/>
    <column name="o4_25p89_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: o4_25p89_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="fe2_25p99_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of [FeII] 25.99 um (rest 25.98829 um); 3 sigma upper limit when the flag is 0"/>
    <column name="fe2_25p99_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of fe2_25p99_flux"/>
    <column name="fe2_25p99_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: fe2_25p99_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="s3_33p48_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of [SIII] 33.48 um (rest 33.48100 um); 3 sigma upper limit when the flag is 0"/>
    <column name="s3_33p48_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of s3_33p48_flux"/>
    <column name="s3_33p48_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: s3_33p48_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="si2_34p82_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of [SiII] 34.82 um (rest 34.81520 um); 3 sigma upper limit when the flag is 0"/>
    <column name="si2_34p82_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of si2_34p82_flux"/>
    <column name="si2_34p82_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: si2_34p82_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="h2_s0_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of H2 0-0 S(0) (rest 28.21883 um); 3 sigma upper limit when the flag is 0"/>
    <column name="h2_s0_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of h2_s0_flux"/>
    <column name="h2_s0_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: h2_s0_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="h2_s1_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of H2 0-0 S(1) (rest 17.03484 um); 3 sigma upper limit when the flag is 0"/>
    <column name="h2_s1_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of h2_s1_flux"/>
    <column name="h2_s1_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: h2_s1_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="h2_s2_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of H2 0-0 S(2) (rest 12.27861 um); 3 sigma upper limit when the flag is 0"/>
    <column name="h2_s2_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of h2_s2_flux"/>
    <column name="h2_s2_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: h2_s2_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="h2_s3_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of H2 0-0 S(3) (rest 9.66492 um); 3 sigma upper limit when the flag is 0"/>
    <column name="h2_s3_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of h2_s3_flux"/>
    <column name="h2_s3_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: h2_s3_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="h2_s4_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of H2 0-0 S(4) (rest 8.02505 um); 3 sigma upper limit when the flag is 0"/>
    <column name="h2_s4_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of h2_s4_flux"/>
    <column name="h2_s4_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: h2_s4_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="h2_s5_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of H2 0-0 S(5) (rest 6.90952 um); 3 sigma upper limit when the flag is 0"/>
    <column name="h2_s5_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of h2_s5_flux"/>
    <column name="h2_s5_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: h2_s5_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="h2_s6_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of H2 0-0 S(6) (rest 6.10857 um); 3 sigma upper limit when the flag is 0"/>
    <column name="h2_s6_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of h2_s6_flux"/>
    <column name="h2_s6_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: h2_s6_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="h2_s7_flux" type="double precision" unit="W.m**-2" ucd="phot.flux;spect.line" verbLevel="10"
      description="Observed flux of H2 0-0 S(7) (rest 5.51118 um); 3 sigma upper limit when the flag is 0"/>
    <column name="h2_s7_flux_err" type="double precision" unit="W.m**-2" ucd="stat.error;phot.flux" verbLevel="30"
      description="Uncertainty (1 sigma) of h2_s7_flux"/>
    <column name="h2_s7_flux_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: h2_s7_flux detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="cont_5p5" type="double precision" unit="Jy" ucd="phot.flux.density;em.IR.MIR" verbLevel="10"
      description="Continuum flux density at rest 5.5 um (without PAHs and lines)"/>
    <column name="cont_5p5_err" type="double precision" unit="Jy" ucd="stat.error;phot.flux.density" verbLevel="30"
      description="Uncertainty (1 sigma) of cont_5p5"/>
    <column name="cont_5p5_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: cont_5p5 detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="cont_10" type="double precision" unit="Jy" ucd="phot.flux.density;em.IR.MIR" verbLevel="10"
      description="Continuum flux density at rest 10 um (without PAHs and lines)"/>
    <column name="cont_10_err" type="double precision" unit="Jy" ucd="stat.error;phot.flux.density" verbLevel="30"
      description="Uncertainty (1 sigma) of cont_10"/>
    <column name="cont_10_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: cont_10 detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="cont_15" type="double precision" unit="Jy" ucd="phot.flux.density;em.IR.MIR" verbLevel="10"
      description="Continuum flux density at rest 15 um (without PAHs and lines)"/>
    <column name="cont_15_err" type="double precision" unit="Jy" ucd="stat.error;phot.flux.density" verbLevel="30"
      description="Uncertainty (1 sigma) of cont_15"/>
    <column name="cont_15_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: cont_15 detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="cont_24" type="double precision" unit="Jy" ucd="phot.flux.density;em.IR.MIR" verbLevel="10"
      description="Continuum flux density at rest 24 um (without PAHs and lines)"/>
    <column name="cont_24_err" type="double precision" unit="Jy" ucd="stat.error;phot.flux.density" verbLevel="30"
      description="Uncertainty (1 sigma) of cont_24"/>
    <column name="cont_24_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: cont_24 detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="cont_30" type="double precision" unit="Jy" ucd="phot.flux.density;em.IR.MIR" verbLevel="10"
      description="Continuum flux density at rest 30 um (without PAHs and lines)"/>
    <column name="cont_30_err" type="double precision" unit="Jy" ucd="stat.error;phot.flux.density" verbLevel="30"
      description="Uncertainty (1 sigma) of cont_30"/>
    <column name="cont_30_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: cont_30 detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="alpha_15_30" type="double precision" ucd="spect.index;em.IR.MIR" verbLevel="10"
      description="Spectral index ln(F_nu(30)/F_nu(15))/ln 2 of the continuum at rest 15 and 30 um (F_nu ~ lambda^alpha)"/>
    <column name="alpha_15_30_err" type="double precision" ucd="stat.error;spect.index" verbLevel="30"
      description="Uncertainty (1 sigma) of alpha_15_30"/>
    <column name="alpha_15_30_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: alpha_15_30 detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="phot_irac8" type="double precision" unit="Jy" ucd="phot.flux.density;em.IR.MIR" verbLevel="10"
      description="Synthetic photometry in the Spitzer IRAC 8.0 um band (trapezoid 6.44-9.30 um, observed frame, no colour correction)"/>
    <column name="phot_irac8_err" type="double precision" unit="Jy" ucd="stat.error;phot.flux.density" verbLevel="30"
      description="Uncertainty (1 sigma) of phot_irac8"/>
    <column name="phot_irac8_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: phot_irac8 detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="phot_pu16" type="double precision" unit="Jy" ucd="phot.flux.density;em.IR.MIR" verbLevel="10"
      description="Synthetic photometry in the IRS blue peak-up 16 um band (trapezoid 13.30-18.70 um, observed frame, no colour correction)"/>
    <column name="phot_pu16_err" type="double precision" unit="Jy" ucd="stat.error;phot.flux.density" verbLevel="30"
      description="Uncertainty (1 sigma) of phot_pu16"/>
    <column name="phot_pu16_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: phot_pu16 detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="phot_pu22" type="double precision" unit="Jy" ucd="phot.flux.density;em.IR.MIR" verbLevel="10"
      description="Synthetic photometry in the IRS red peak-up 22 um band (trapezoid 18.50-26.00 um, observed frame, no colour correction)"/>
    <column name="phot_pu22_err" type="double precision" unit="Jy" ucd="stat.error;phot.flux.density" verbLevel="30"
      description="Uncertainty (1 sigma) of phot_pu22"/>
    <column name="phot_pu22_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: phot_pu22 detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="phot_mips24" type="double precision" unit="Jy" ucd="phot.flux.density;em.IR.MIR" verbLevel="10"
      description="Synthetic photometry in the MIPS 24 um band (trapezoid 20.80-26.10 um, observed frame, no colour correction)"/>
    <column name="phot_mips24_err" type="double precision" unit="Jy" ucd="stat.error;phot.flux.density" verbLevel="30"
      description="Uncertainty (1 sigma) of phot_mips24"/>
    <column name="phot_mips24_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: phot_mips24 detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="phot_w3" type="double precision" unit="Jy" ucd="phot.flux.density;em.IR.MIR" verbLevel="10"
      description="Synthetic photometry in the WISE W3 band (trapezoid 8.81-14.31 um, observed frame, no colour correction)"/>
    <column name="phot_w3_err" type="double precision" unit="Jy" ucd="stat.error;phot.flux.density" verbLevel="30"
      description="Uncertainty (1 sigma) of phot_w3"/>
    <column name="phot_w3_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: phot_w3 detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
    <column name="phot_w4" type="double precision" unit="Jy" ucd="phot.flux.density;em.IR.MIR" verbLevel="10"
      description="Synthetic photometry in the WISE W4 band (trapezoid 20.04-24.14 um, observed frame, no colour correction)"/>
    <column name="phot_w4_err" type="double precision" unit="Jy" ucd="stat.error;phot.flux.density" verbLevel="30"
      description="Uncertainty (1 sigma) of phot_w4"/>
    <column name="phot_w4_flag" type="smallint" ucd="meta.code.qual" verbLevel="30"
      description="1: phot_w4 detected at 3 sigma or more; 0: not detected; NULL: not measured (not covered)"/>
  </table>

  <table id="lines" onDisk="True" adql="True" primary="line_id">
    <meta name="description">Mid-infrared lines and bands, 2.5-40 um: atomic and ionic
      fine-structure lines, H2 rotational and HI recombination lines, PAH bands, ice and
      silicate features, with vacuum rest wavelengths and their sources (also served by
      SLAP at /slap).</meta>
    <index columns="wavelength"/>
    <column name="line_id" type="integer" required="True" ucd="meta.id;meta.main"
      verbLevel="1" description="Line number (by wavelength)"/>
    <column name="title" type="text" required="True" ucd="meta.id;spect.line" verbLevel="1"
      description="Line title: species and wavelength, e.g. [NeII] 12.81"/>
    <column name="species" type="text" required="True" ucd="phys.atmol.element"
      verbLevel="1" description="Emitting or absorbing species ([NeII], H2, HI, PAH, CO2...)"/>
    <column name="element" type="text" ucd="phys.atmol.element" verbLevel="10"
      description="Chemical element of an atomic, ionic, H2 or HI line (NULL for bands)"/>
    <column name="ion_charge" type="smallint" ucd="phys.atmol.ionStage" verbLevel="10"
      description="Charge of the ion (0: neutral; NULL for bands)"/>
    <column name="kind" type="text" required="True" ucd="meta.code.class" verbLevel="1"
      description="atomic, ionic, H2, HI, PAH, ice or dust"/>
    <column name="wavelength" type="double precision" required="True" unit="um"
      ucd="em.wl;phys.atmol.transition" verbLevel="1"
      description="Vacuum rest wavelength (band centre for PAH, ice and dust features)"/>
    <column name="wavelength_error" type="double precision" unit="um"
      ucd="stat.error;em.wl" verbLevel="10"
      description="Uncertainty of the wavelength, where the source gives one"/>
    <column name="initial_level" type="text" ucd="phys.atmol.initial;phys.atmol.level"
      verbLevel="10" description="Upper (initial) level of the transition"/>
    <column name="final_level" type="text" ucd="phys.atmol.final;phys.atmol.level"
      verbLevel="10" description="Lower (final) level of the transition"/>
    <column name="ip_create" type="double precision" unit="eV" ucd="phys.energy"
      verbLevel="20" description="Ionisation potential producing the ion (MPE list)"/>
    <column name="ip_destroy" type="double precision" unit="eV" ucd="phys.energy"
      verbLevel="20" description="Ionisation potential of the ion (MPE list)"/>
    <column name="source" type="text" required="True" ucd="meta.bib" verbLevel="10"
      description="Where the wavelength comes from"/>
  </table>

  <table id="coverage" onDisk="True" adql="True">
    <meta name="description">Spectral coverage of the selected spectra, one row per
      segment (order): observed and rest-frame wavelength range, resolving power at both
      ends and median signal-to-noise ratio. Join with cassisjuice.lines to find the
      spectra that cover a line at their target's redshift.</meta>
    <index columns="cj_id"/>
    <index columns="rest_wl_min"/>
    <column name="spectrum_id" type="text" required="True" ucd="meta.id" verbLevel="1"
      description="The spectrum (as in cassisjuice.spectra)"/>
    <column name="cj_id" type="text" required="True" ucd="meta.id;meta.dataset"
      verbLevel="1" description="CASSISjuice identifier of the position"/>
    <column name="arm" type="text" required="True" ucd="instr.setup" verbLevel="1"
      description="LR or HR"/>
    <column name="segment" type="text" required="True" ucd="instr.setup" verbLevel="1"
      description="Module and order (SL1, LL2, SH13...)"/>
    <column name="wl_min" type="double precision" required="True" unit="um"
      ucd="em.wl;stat.min" verbLevel="1" description="Shortest observed wavelength"/>
    <column name="wl_max" type="double precision" required="True" unit="um"
      ucd="em.wl;stat.max" verbLevel="1" description="Longest observed wavelength"/>
    <column name="rest_wl_min" type="double precision" required="True" unit="um"
      ucd="em.wl;stat.min" verbLevel="1"
      description="Shortest wavelength in the rest frame of the catalogue redshift (observed when there is none)"/>
    <column name="rest_wl_max" type="double precision" required="True" unit="um"
      ucd="em.wl;stat.max" verbLevel="1"
      description="Longest wavelength in the rest frame of the catalogue redshift (observed when there is none)"/>
    <column name="res_power_min" type="double precision" required="True"
      ucd="spect.resolution;stat.min" verbLevel="10"
      description="Resolving power at the shortest wavelength (R = k lambda per LR order, IRS Handbook 4.1.3; 600 for SH/LH)"/>
    <column name="res_power_max" type="double precision" required="True"
      ucd="spect.resolution;stat.max" verbLevel="10"
      description="Resolving power at the longest wavelength"/>
    <column name="snr" type="double precision" ucd="stat.snr" verbLevel="10"
      description="Median signal-to-noise ratio of the segment"/>
  </table>

  <table id="object_names" onDisk="True" adql="True">
    <meta name="description">Every name of every position (the observer's, SIMBAD's and
      NED's) with its normalised key: upper case, without spaces, underscores, dots,
      SIMBAD's star prefixes or zero padding of NGC/IC/M/UGC/HD numbers, so that
      name_key = 'NGC1068' or name_key LIKE 'NGC10%' finds every spelling.</meta>
    <index columns="name_key"/>
    <index columns="cj_id"/>
    <column name="cj_id" type="text" required="True" ucd="meta.id;meta.dataset"
      verbLevel="1" description="CASSISjuice identifier of the position"/>
    <column name="name" type="text" required="True" ucd="meta.id" verbLevel="1"
      description="The name as given"/>
    <column name="name_key" type="text" required="True" ucd="meta.id" verbLevel="1"
      description="Normalised name (see the table description)"/>
    <column name="source" type="text" required="True" ucd="meta.code" verbLevel="1"
      description="observer, simbad or ned"/>
  </table>

  <!-- ============================================================ service documents
    Tables not stored (onDisk="False"): the columns (and params) of the documents the
    services write, so their metadata lives here too. -->

  <table id="ssa_response" onDisk="False">
    <meta name="description">The columns of an SSAP 1.1 queryData response of
      cassisjuice-vo: one row per selected spectrum (clients find the access columns by
      utype, SSA 1.1 sec. 8.1).</meta>
    <column name="ssa_pubDID" type="text" ucd="meta.ref.ivoid"
      utype="ssa:Curation.PublisherDID" description="Dataset identifier"/>
    <column name="accref" type="text" ucd="meta.ref.url" utype="ssa:Access.Reference"
      description="The spectrum file"/>
    <column name="mime" type="text" ucd="meta.code.mime" utype="ssa:Access.Format"
      description="MIME type of accref"/>
    <column name="accsize" type="bigint" unit="byte" ucd="phys.size;meta.file"
      utype="ssa:Access.Size" description="Approximate file size"/>
    <column name="datalink_url" type="text" ucd="meta.ref.url"
      description="Datalink document: other variants, preview, cut-out"/>
    <column name="ssa_title" type="text" ucd="meta.title;meta.dataset"
      utype="ssa:DataID.Title" description="Title"/>
    <column name="ssa_targname" type="text" ucd="meta.id;src" utype="ssa:Target.Name"
      description="Target name"/>
    <column name="ra" type="double precision" unit="deg" ucd="pos.eq.ra;meta.main"
      description="ICRS right ascension"/>
    <column name="dec" type="double precision" unit="deg" ucd="pos.eq.dec;meta.main"
      description="ICRS declination"/>
    <column name="ssa_location" type="double precision[2]" unit="deg" ucd="pos.eq"
      utype="ssa:Target.Pos" description="ICRS position (ra, dec)"/>
    <column name="ssa_dateObs" type="text" ucd="time.epoch" utype="ssa:DataID.Date"
      description="Date of the observation (ISO 8601)"/>
    <column name="ssa_instrument" type="text" ucd="meta.id;instr"
      utype="ssa:DataID.Instrument" description="Instrument"/>
    <column name="ssa_collection" type="text" ucd="meta.id" utype="ssa:DataID.Collection"
      description="Collection"/>
    <column name="ssa_specstart" type="double precision" unit="m" ucd="em.wl;stat.min"
      utype="ssa:Char.SpectralAxis.Coverage.Bounds.Start" description="Shortest wavelength"/>
    <column name="ssa_specend" type="double precision" unit="m" ucd="em.wl;stat.max"
      utype="ssa:Char.SpectralAxis.Coverage.Bounds.Stop" description="Longest wavelength"/>
    <column name="ssa_specres_power" type="double precision" ucd="spect.resolution"
      utype="ssa:Char.SpectralAxis.ResPower" description="Resolving power"/>
    <column name="ssa_length" type="bigint" ucd="meta.number" utype="ssa:Dataset.Length"
      description="Number of points"/>
    <column name="ssa_model" type="text" ucd="meta.id" utype="ssa:Dataset.DataModel"
      description="Data model"/>
    <column name="ssa_dstype" type="text" ucd="meta.code.class" utype="ssa:Dataset.Type"
      description="Dataset type"/>
    <column name="ssa_spectralunit" type="text" utype="ssa:Char.SpectralAxis.Unit"
      description="Unit of the spectral axis"/>
    <column name="ssa_fluxunit" type="text" utype="ssa:Char.FluxAxis.Unit"
      description="Unit of the flux axis"/>
  </table>

  <table id="slap_response" onDisk="False">
    <meta name="description">The columns of a SLAP 1.0 queryData response of
      cassisjuice-vo: one row per line of the list (clients find the columns by their
      Simple Spectral Line Data Model utypes, SLAP 1.0 sec. 3).</meta>
    <column name="title" type="text" ucd="meta.id;spect.line" utype="ssldm:Line.title"
      description="Line title: species and wavelength"/>
    <column name="wavelength" type="double precision" unit="m"
      ucd="em.wl;phys.atmol.transition" utype="ssldm:Line.wavelength.value"
      description="Vacuum rest wavelength"/>
    <column name="wavelength_error" type="double precision" unit="m" ucd="stat.error;em.wl"
      utype="ssldm:Line.wavelength.error"
      description="Uncertainty of the wavelength (where the source gives one)"/>
    <column name="species" type="text" ucd="phys.atmol.element"
      utype="ssldm:Line.species.name" description="Emitting or absorbing species"/>
    <column name="element" type="text" ucd="phys.atmol.element"
      description="Chemical element (atomic, ionic, H2 and HI lines)"/>
    <column name="ion_charge" type="smallint" ucd="phys.atmol.ionStage"
      description="Charge of the ion (0: neutral)"/>
    <column name="kind" type="text" ucd="meta.code.class"
      description="atomic, ionic, H2, HI, PAH, ice or dust"/>
    <column name="initial_level" type="text" ucd="phys.atmol.initial;phys.atmol.level"
      utype="ssldm:Line.initialLevel.name" description="Upper (initial) level"/>
    <column name="final_level" type="text" ucd="phys.atmol.final;phys.atmol.level"
      utype="ssldm:Line.finalLevel.name" description="Lower (final) level"/>
    <column name="source" type="text" ucd="meta.bib" description="Source of the wavelength"/>
  </table>

  <table id="sdm_spectrum" onDisk="False">
    <meta name="description">A spectrum as the services serve it (IVOA Spectral Data
      Model 1.1 as VOTable, FITS and CSV): one row per point; the params describe the
      whole spectrum. The flux unit is the one requested (Jy by default).</meta>
    <param name="DataModel" type="text" utype="spec:Spectrum.DataModel">Spectrum-1.0</param>
    <param name="Publisher" type="text" utype="spec:Spectrum.Curation.Publisher"/>
    <param name="PublisherDID" type="text" ucd="meta.ref.ivoid"
      utype="spec:Spectrum.Curation.PublisherDID"/>
    <param name="Title" type="text" utype="spec:Spectrum.DataID.Title"/>
    <param name="TargetName" type="text" ucd="meta.id;src" utype="spec:Spectrum.Target.Name"/>
    <param name="Position" type="double precision[2]" unit="deg" ucd="pos.eq"
      utype="spec:Spectrum.Char.SpatialAxis.Coverage.Location.Value"/>
    <param name="Aperture" type="double precision" unit="deg" ucd="phys.angSize;instr.fov"
      utype="spec:Spectrum.Char.SpatialAxis.Coverage.Bounds.Extent"/>
    <param name="MidTime" type="double precision" unit="d" ucd="time.epoch"
      utype="spec:Spectrum.Char.TimeAxis.Coverage.Location.Value"/>
    <param name="SpectralStart" type="double precision" unit="m" ucd="em.wl;stat.min"
      utype="spec:Spectrum.Char.SpectralAxis.Coverage.Bounds.Start"/>
    <param name="SpectralStop" type="double precision" unit="m" ucd="em.wl;stat.max"
      utype="spec:Spectrum.Char.SpectralAxis.Coverage.Bounds.Stop"/>
    <param name="ResolvingPower" type="double precision" ucd="spect.resolution"
      utype="spec:Spectrum.Char.SpectralAxis.ResPower"/>
    <param name="Simulated" type="boolean"
      description="True when the spectrum comes from simulated exposures"/>
    <column name="wavelength" type="double precision" unit="um" ucd="em.wl"
      utype="spec:Spectrum.Data.SpectralAxis.Value" description="Vacuum wavelength"/>
    <column name="flux" type="double precision" unit="Jy" ucd="phot.flux.density;em.wl"
      utype="spec:Spectrum.Data.FluxAxis.Value" description="Flux density"/>
    <column name="error" type="double precision" unit="Jy" ucd="stat.error;phot.flux.density"
      utype="spec:Spectrum.Data.FluxAxis.Accuracy.StatError"
      description="1-sigma uncertainty of the flux density"/>
    <column name="segment" type="text" ucd="meta.id;instr.setup"
      description="IRS module and order of the point (e.g. SL1, LH14)"/>
    <column name="flag" type="integer" ucd="meta.code.qual"
      utype="spec:Spectrum.Data.FluxAxis.Quality"
      description="Bit flags: 1 pixels replaced or rejected as outliers in the extraction, 2 SNR &lt; 3"/>
  </table>

  <!-- ================================================================ GAVO DaCHS
    What a GAVO DaCHS (2.7) needs to import and serve the atlas; cassisjuice-vo reads the
    data elements (which tables "cassisjuice export-dachs" dumps, to which file) and the
    services' metadata. spectrum_data stays out: DaCHS serves the spectra as files. -->

  <procDef type="rowfilter" id="empty_is_null">
    <doc>The dump writes NULL as an empty CSV field.</doc>
    <code>
      yield dict((key, None if value == "" else value) for key, value in row.items())
    </code>
  </procDef>

  <data id="import_positions">
    <sources>data/positions.csv</sources>
    <csvGrammar><rowfilter procDef="empty_is_null"/></csvGrammar>
    <make table="positions"><rowmaker idmaps="*"/></make>
  </data>
  <data id="import_spectra">
    <sources>data/spectra.csv</sources>
    <csvGrammar><rowfilter procDef="empty_is_null"/></csvGrammar>
    <make table="spectra"><rowmaker idmaps="*"/></make>
  </data>
  <data id="import_exposures">
    <sources>data/exposures.csv</sources>
    <csvGrammar><rowfilter procDef="empty_is_null"/></csvGrammar>
    <make table="exposures"><rowmaker idmaps="*"/></make>
  </data>
  <data id="import_features">
    <sources>data/features.csv</sources>
    <csvGrammar><rowfilter procDef="empty_is_null"/></csvGrammar>
    <make table="features"><rowmaker idmaps="*"/></make>
  </data>
  <data id="import_lines">
    <recreateAfter>make_slap</recreateAfter>
    <sources>data/lines.csv</sources>
    <csvGrammar><rowfilter procDef="empty_is_null"/></csvGrammar>
    <make table="lines"><rowmaker idmaps="*"/></make>
  </data>
  <data id="import_coverage">
    <sources>data/coverage.csv</sources>
    <csvGrammar><rowfilter procDef="empty_is_null"/></csvGrammar>
    <make table="coverage"><rowmaker idmaps="*"/></make>
  </data>
  <data id="import_object_names">
    <sources>data/object_names.csv</sources>
    <csvGrammar><rowfilter procDef="empty_is_null"/></csvGrammar>
    <make table="object_names"><rowmaker idmaps="*"/></make>
  </data>
  <data id="import_obscore">
    <recreateAfter>make_ssa</recreateAfter>
    <sources>data/obscore.csv</sources>
    <csvGrammar>
      <rowfilter procDef="empty_is_null"/>
      <!-- the spectrum file of each row, which the dump writes as SDM FITS -->
      <rowfilter name="spectrum_file">
        <code>
          row["spectrum_file"] = "\resdir/data/spectra/%s.fits" % (
            row["obs_id"].replace("/", "_"))
          yield row
        </code>
      </rowfilter>
      <rowfilter procDef="//products#define">
        <bind key="table">"\schema.obscore"</bind>
        <bind key="accref">@spectrum_file</bind>
        <bind key="path">@spectrum_file</bind>
        <bind key="fsize">os.path.getsize(os.path.join(base.getConfig("inputsDir"), @spectrum_file))</bind>
        <bind key="mime">"application/fits"</bind>
        <bind key="preview">None</bind>
      </rowfilter>
    </csvGrammar>
    <make table="obscore"><rowmaker idmaps="*"/></make>
  </data>

  <table id="ssa_view" onDisk="True" adql="hidden">
    <meta name="description">The SSA view of the selected spectra (the obscore rows), which
      GAVO DaCHS's SSAP service queries.</meta>
    <!-- the parameters that are literals are also the constant columns of cassisjuice-vo's
      SSAP responses (instrument, data model, dataset type, units) -->
    <mixin
      sourcetable="obscore"
      ssa_pubDID="obs_publisher_did"
      ssa_dstitle="'CASSISjuice ' || obs_id"
      ssa_targname="target_name"
      ssa_location="\+spoint(radians(s_ra), radians(s_dec))"
      ssa_aperture="s_fov"
      ssa_dateObs="t_min"
      ssa_timeExt="t_exptime"
      ssa_specstart="em_min"
      ssa_specend="em_max"
      ssa_specmid="(em_min + em_max) / 2"
      ssa_specext="em_max - em_min"
      ssa_specres="(em_min + em_max) / 2 / em_res_power"
      ssa_length="em_xel"
      ssa_collection="obs_collection"
      ssa_instrument="'Spitzer IRS'"
      ssa_model="'Spectrum-1.0'"
      ssa_dstype="'Spectrum'"
      ssa_bandpass="'Infrared'"
      ssa_fluxunit="'Jy'"
      ssa_spectralunit="'um'"
      ssa_fluxucd="'phot.flux.density;em.wl'"
      ssa_spectralucd="'em.wl'"
      ssa_fluxcalib="'ABSOLUTE'"
      ssa_speccalib="'ABSOLUTE'"
      >//ssap#view</mixin>
  </table>

  <data id="make_ssa" auto="False">
    <make table="ssa_view"/>
  </data>

  <table id="slap_lines" onDisk="True" adql="hidden">
    <meta name="description">The line list as GAVO DaCHS's SLAP service queries it (the
      //slap#basic columns, a view over the lines table): wavelengths in metres, the
      element (the species for bands) as chemical_element.</meta>
    <mixin>//slap#basic</mixin>
    <!-- cassisjuice-vo's /slap matches CHEMICAL_ELEMENT against the element or the
      species; DaCHS matches chemical_element, the element where there is one, else the
      species (PAH, H2O ice...). The level energies are not in the list: NULL. -->
    <viewStatement>
      CREATE VIEW \curtable AS (SELECT
        wavelength * 1e-6 AS wavelength,
        title AS linename,
        COALESCE(element, species) AS chemical_element,
        initial_level AS initial_name,
        final_level AS final_name,
        CAST(NULL AS double precision) AS initial_level_energy,
        CAST(NULL AS double precision) AS final_level_energy,
        source AS pub,
        CAST('identified' AS text) AS id_status
      FROM \schema.lines)
    </viewStatement>
  </table>

  <data id="make_slap" auto="False">
    <make table="slap_lines"/>
  </data>

  <!-- The services' metadata is also what cassisjuice-vo's registry records say (their
    short names, titles, descriptions, test queries, SSA capability and limits); its TAP
    service is the site's (GAVO DaCHS's /tap). GAVO DaCHS serves SSAP (ssap.xml), Cone
    Search (scs.xml), SLAP (slap.xml, on the slap_lines view) and Datalink (dl). -->
  <service id="ssa" allowed="form,ssap.xml">
    <meta name="shortName">CASSISjuice SSAP</meta>
    <meta name="title">CASSISjuice: spectral access (SSAP 1.1)</meta>
    <meta name="description">The selected low and high resolution Spitzer/IRS spectrum of
      each position of the CASSISjuice atlas, by position, wavelength, time and target
      name.</meta>
    <meta name="ssap.dataSource">pointed</meta>
    <meta name="ssap.creationType">archival</meta>
    <meta name="ssap.testQuery">POS=83.82,-5.39&amp;SIZE=0.5</meta>
    <meta name="ssap.complianceLevel">query</meta>
    <!-- The limits of the SSA 1.1 registry extension (SSA 1.1 sec. 9, the SSA registry
      schema); cassisjuice-vo enforces the search radius and the record limits it
      declares. maxSearchRadius (deg): the largest SIZE / 2 it accepts (SIZE is a
      diameter, up to 360 deg: the whole sky); maxRecords: the largest MAXREC honoured;
      defaultMaxRecords: the MAXREC of a query without one; maxAperture (deg): the largest
      APERTURE a service extracting spectra on request accepts; this one extracts none
      (no APERTURE parameter), so it declares the width of the widest IRS slit rounded
      up (LH: 11.1 arcsec, 0.0031 deg). -->
    <meta name="ssap.supportedFrame">ICRS</meta>
    <meta name="ssap.maxSearchRadius">180</meta>
    <meta name="ssap.maxRecords">10000</meta>
    <meta name="ssap.defaultMaxRecords">1000</meta>
    <meta name="ssap.maxAperture">0.01</meta>
    <publish render="ssap.xml" sets="ivo_managed"/>
    <ssapCore queriedTable="ssa_view">
      <FEED source="//ssap#hcd_condDescs"/>
    </ssapCore>
  </service>

  <service id="scs" allowed="form,scs.xml">
    <meta name="shortName">CASSISjuice cone</meta>
    <meta name="title">CASSISjuice: positions (Cone Search)</meta>
    <meta name="description">The positions of the CASSISjuice atlas (one per targeted
      Spitzer/IRS staring-mode position) with their names and the resolutions observed,
      by cone.</meta>
    <!-- the largest SR cassisjuice-vo accepts (ConeSearch registry extension maxSR;
      GAVO DaCHS declares the same meta as its scs.xml capability's maxSR) -->
    <meta name="maxSR">10</meta>
    <meta name="testQuery">
      <meta name="ra">83.82</meta>
      <meta name="dec">-5.39</meta>
      <meta name="sr">0.5</meta>
    </meta>
    <publish render="scs.xml" sets="ivo_managed"/>
    <scsCore queriedTable="positions">
      <FEED source="//scs#coreDescs"/>
    </scsCore>
  </service>

  <service id="dl" allowed="dlmeta">
    <meta name="title">CASSISjuice: spectrum links (Datalink 1.1)</meta>
    <meta name="description">The Datalink document of a selected spectrum of the
      CASSISjuice atlas, by its publisher DID (ivoa.obscore's obs_publisher_did): the
      spectrum file (#this). The access_url of GAVO DaCHS's ObsCore rows.</meta>
    <datalinkCore>
      <descriptorGenerator>
        <code>
          with base.getTableConn() as conn:
            rows = list(conn.query("SELECT accref FROM \schema.obscore"
              " WHERE obs_publisher_did = %(did)s", {"did": pubDID}))
          if not rows:
            return DatalinkFault.NotFoundFault(pubDID,
              "No spectrum of the CASSISjuice atlas has this identifier")
          return ProductDescriptor.fromAccref(pubDID, rows[0][0])
        </code>
      </descriptorGenerator>
    </datalinkCore>
  </service>

  <service id="slap" allowed="form,slap.xml">
    <meta name="shortName">CASSISjuice SLAP</meta>
    <meta name="title">CASSISjuice: mid-infrared line list (SLAP 1.0)</meta>
    <meta name="description">194 mid-infrared lines and bands (2.5-40 um): fine-structure,
      H2 and HI lines, PAH bands, ices and silicates, with their rest wavelengths and
      sources.</meta>
    <!-- the MAXREC of a query without one and the largest accepted by cassisjuice-vo's
      /slap (SLAP 1.0 sec. 2.2) -->
    <meta name="slap.defaultMaxRecords">1000</meta>
    <meta name="slap.maxRecords">10000</meta>
    <!-- SLAP 1.0 (sec. 2.1, 2.2): WAVELENGTH in metres, CHEMICAL_ELEMENT -->
    <dbCore queriedTable="slap_lines">
      <FEED source="//slap#corePars"/>
    </dbCore>
    <FEED source="//slap#servicePars"/>
  </service>
</resource>
